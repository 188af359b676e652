import smtplib
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

mailer_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mailer")


def _send(msg: EmailMessage, host: str):
    with smtplib.SMTP(host) as smtp:
        smtp.send_message(msg)


def send_welcome(user, host="localhost"):
    msg = EmailMessage()
    msg["To"] = user.email
    msg["Subject"] = "Welcome!"
    msg.set_content(f"Hi {user.name}, thanks for signing up.")
    mailer_pool.submit(_send, msg, host)
