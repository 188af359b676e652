import asyncio

from .db import audit_table


async def record(user_id, action):
    await audit_table.insert(user_id=user_id, action=action)


async def delete_account(db, user_id):
    await db.execute("DELETE FROM accounts WHERE id = $1", user_id)
    asyncio.create_task(record(user_id, "account.deleted"))
    return {"deleted": user_id}
