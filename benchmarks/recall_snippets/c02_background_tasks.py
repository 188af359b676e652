import asyncio

_background: set[asyncio.Task] = set()


async def record(audit, user_id, action):
    await audit.insert(user_id=user_id, action=action)


async def delete_account(db, audit, user_id):
    await db.execute("DELETE FROM accounts WHERE id = $1", user_id)
    task = asyncio.create_task(record(audit, user_id, "account.deleted"))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return {"deleted": user_id}
