#!/usr/bin/env python3
"""One POP3 session that retrieves every message with the commands pipelined
(RFC 2449 PIPELINING): USER, PASS, STAT, then RETR 1..n written by one
thread while the main thread reads, then QUIT. It measures what a server
can send, where mailbench's one-command-at-a-time session (retr-big)
measures mostly loopback round trips. Prints one key=value line, like
mailbench.

    pop3-pipelined-retr.py HOST PORT USER PASSWORD
"""
import socket
import sys
import threading
import time

TERMINATOR = b"\r\n.\r\n"


def read_line(sock, buf):
    while b"\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    line, rest = buf.split(b"\r\n", 1)
    return line, rest


def command(sock, buf, text):
    sock.sendall(text.encode() + b"\r\n")
    line, buf = read_line(sock, buf)
    if not line.startswith(b"+OK"):
        raise RuntimeError(f"{text.split()[0]}: {line!r}")
    return line, buf


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    line, buf = read_line(sock, buf)
    if not line.startswith(b"+OK"):
        raise RuntimeError(f"greeting: {line!r}")
    _, buf = command(sock, buf, f"USER {user}")
    _, buf = command(sock, buf, f"PASS {password}")
    line, buf = command(sock, buf, "STAT")
    count = int(line.split()[1])

    t0 = time.monotonic()

    def writer():
        batch = []
        for i in range(1, count + 1):
            batch.append(f"RETR {i}\r\n")
            if len(batch) == 256:
                sock.sendall("".join(batch).encode())
                batch = []
        if batch:
            sock.sendall("".join(batch).encode())

    thread = threading.Thread(target=writer)
    thread.start()
    seen = 0
    rx = len(buf)
    tail = buf[-4:]
    seen += buf.count(TERMINATOR)
    while seen < count:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed during RETR")
        rx += len(chunk)
        joined = tail + chunk
        seen += joined.count(TERMINATOR)
        tail = joined[-4:]
    elapsed = time.monotonic() - t0
    thread.join()
    sock.sendall(b"QUIT\r\n")
    sock.close()
    print(f"mode=pop3-retr-pipelined conc=1 elapsed_s={elapsed:.3f} sessions=1 errors=0 "
          f"messages={count} rx_MB={rx / 1e6:.2f} rx_MB_per_s={rx / 1e6 / elapsed:.2f} "
          f"payload_MB={rx / 1e6:.2f} payload_MB_per_s={rx / 1e6 / elapsed:.2f}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError, RuntimeError, ValueError, IndexError) as e:
        print(f"mode=pop3-retr-pipelined sessions=0 errors=1 error=\"{e}\"")
        sys.exit(1)
