#!/usr/bin/env python3
"""A real SMTP server for Muster's tests (aiosmtpd): every message it accepts is written to
DIR as NNNNNN.eml. Recipients starting with `reject-` get a permanent 550; recipients
starting with `later-` get a temporary 451 the first time, then are accepted.

Usage: recorder.py DIR PORT   (prints "ready" when it listens on 127.0.0.1:PORT)
"""
import asyncio
import itertools
import os
import sys

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(1)
        self.deferred = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject-"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("later-") and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.folder, "%06d.eml" % next(self.counter))
        temporary = path + ".part"
        with open(temporary, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(temporary, path)
        return "250 Message accepted for delivery"


async def main(folder, port):
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Recorder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
