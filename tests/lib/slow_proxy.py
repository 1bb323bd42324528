#!/usr/bin/env python3
"""A TCP proxy that answers slowly: each chunk the server sends reaches the
client DELAY seconds later (requests go through at once).  A directory
that still answers, but slowly, for the tests of one deadline per login.

usage: slow_proxy.py PORTFILE TARGET_HOST TARGET_PORT DELAY
Listens on a free loopback port, writes it to PORTFILE, serves until killed.
"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    """Copy READER to WRITER, each chunk leaving DELAY seconds after it
    arrived (read at once, queued with its time): an answer the server sent
    in several chunks is late by DELAY once, whatever the chunking."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def take():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((loop.time() + delay, data))
                if not data:
                    break
        except (ConnectionError, asyncio.CancelledError):
            await queue.put((loop.time(), b""))

    taker = asyncio.ensure_future(take())
    try:
        while True:
            due, data = await queue.get()
            if not data:
                break
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        taker.cancel()
        writer.close()


async def main():
    portfile, host, port, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

    async def serve(cr, cw):
        try:
            sr, sw = await asyncio.open_connection(host, port)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, 0), pipe(sr, cw, delay))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    async with server:
        await server.serve_forever()


asyncio.run(main())
