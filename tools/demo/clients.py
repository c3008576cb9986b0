#!/usr/bin/env python3
"""clients.py PORT COUNT: real clients from the Linux side, one after another, each printing
what it saw of the server's decision."""
import socket
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
for i in range(count):
    for attempt in range(50):
        try:
            s = socket.create_connection(('127.0.0.1', port), timeout=10)
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit('client %d: cannot connect to 127.0.0.1:%d' % (i, port))
    try:
        data = s.recv(128)
        print('client %d (port %d): %s' % (i, s.getsockname()[1],
              'server said: ' + data.decode().strip() if data else 'closed without data'))
    except ConnectionResetError:
        print('client %d (port %d): connection reset by the server (refused)' % (i, s.getsockname()[1]))
    s.close()
