#!/usr/bin/env python3
"""smtp-rcpt-load: RCPT decisions per second through a real SMTP server.

CONNS connections from SOURCE (a loopback address other than 127.0.0.1),
each: EHLO, then for SECONDS: MAIL FROM, RCPT TO x PER_MAIL (distinct
remote recipients, so no per-session cache can answer), RSET. One
command in flight per connection. Nothing is ever queued (no DATA).
Prints: conns=C rcpts=N seconds=S rcpt_per_s=R p50_us=A p99_us=B
accepted=X refused=Y other=Z

usage: smtp-rcpt-load.py HOST PORT SOURCE CONNS SECONDS [PER_MAIL]
"""
import asyncio
import socket
import sys
import time


async def reply(reader):
    """Read one SMTP reply (possibly multi-line); return its code."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def session(host, port, source, deadline, per_mail, samples, counts, ident):
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    writer.transport.get_extra_info("socket").setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await reply(reader)
        writer.write(b"EHLO bench.example\r\n")
        await reply(reader)
        n = 0
        while time.monotonic() < deadline:
            writer.write(b"MAIL FROM:<sender@example.org>\r\n")
            if await reply(reader) != 250:
                raise RuntimeError("MAIL FROM refused")
            for _ in range(per_mail):
                n += 1
                writer.write(b"RCPT TO:<user%d.%d@remote.example>\r\n" % (ident, n))
                t0 = time.perf_counter_ns()
                code = await reply(reader)
                samples.append((time.perf_counter_ns() - t0) // 1000)
                key = "accepted" if code // 100 == 2 else "refused" if code // 100 == 5 else "other"
                counts[key] += 1
            writer.write(b"RSET\r\n")
            await reply(reader)
        writer.write(b"QUIT\r\n")
        await reply(reader)
    finally:
        writer.close()


async def main():
    if len(sys.argv) not in (6, 7):
        print(__doc__, file=sys.stderr)
        return 64
    host, port, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    conns, seconds = int(sys.argv[4]), float(sys.argv[5])
    per_mail = int(sys.argv[6]) if len(sys.argv) == 7 else 50
    samples = []
    counts = {"accepted": 0, "refused": 0, "other": 0}
    start = time.monotonic()
    await asyncio.gather(*(session(host, port, source, start + seconds, per_mail,
                                   samples, counts, i) for i in range(conns)))
    elapsed = time.monotonic() - start
    samples.sort()
    if not samples:
        print("smtp-rcpt-load: no RCPT answered", file=sys.stderr)
        return 1
    print("conns=%d rcpts=%d seconds=%.1f rcpt_per_s=%.0f p50_us=%d p99_us=%d "
          "accepted=%d refused=%d other=%d" % (
              conns, len(samples), elapsed, len(samples) / elapsed,
              samples[len(samples) // 2], samples[len(samples) * 99 // 100],
              counts["accepted"], counts["refused"], counts["other"]))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
