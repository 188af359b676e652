import asyncio


class Job:
    def __init__(self, job_id):
        self.job_id = job_id
        self.done = False
        self.result = None

    def finish(self, result):
        self.result = result
        self.done = True


async def wait_for_job(job: Job, poll=0.05):
    while not job.done:
        await asyncio.sleep(poll)
    return job.result
