# Run by callerFlood.mjs as the second user inside its network namespace: makes TIME_WAIT
# sockets (no fd kept) by connecting to sinks of its own and closing first, until the
# namespace holds `target` of them, then idles until stopped. Python: a plain socket loop
# makes them several times faster than Node's socket objects, which is what an attacker uses.
import socket, sys, threading, time

target = int(sys.argv[1])

def time_wait():
    with open('/proc/net/sockstat') as f:
        for line in f:
            if line.startswith('TCP:'):
                fields = line.split()
                return int(fields[fields.index('tw') + 1])
    return 0

# Many sink ports: each ephemeral port then serves many 4-tuples, so connect() finds one fast.
sinks = []
for _ in range(16):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(4096)
    sinks.append(s)

def accept_and_close(server):
    while True:
        conn, _ = server.accept()
        conn.close()

for s in sinks:
    threading.Thread(target=accept_and_close, args=(s,), daemon=True).start()
ports = [s.getsockname()[1] for s in sinks]
n = 0
while n % 5000 != 0 or time_wait() < target:
    c = socket.socket()
    try:
        c.connect(('127.0.0.1', ports[n % len(ports)]))
    except OSError:
        pass
    c.close()
    n += 1
while True:
    time.sleep(60)
