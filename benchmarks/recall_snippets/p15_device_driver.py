import time

import serial


class Thermostat:
    def __init__(self, port="/dev/ttyUSB0"):
        self._conn = serial.Serial(port, 9600, timeout=1)

    def _settle(self):
        self._conn.write(b"RST\n")
        time.sleep(2.0)

    async def reset(self):
        self._settle()
        return self._conn.readline().decode().strip()
