#!/usr/bin/env python3
"""clients.py PORT COUNT: real clients from the Linux side, one after another, each printing
what it saw of the server's decision."""
import socket
import sys
import time


port, count = int(sys.argv[1]), int(sys.argv[2])
for i in range(count):
    reset = False
    for attempt in range(50):
        # Bound first, so the port is known even when the reset beats connect() back.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.bind(('127.0.0.1', 0))
        local = s.getsockname()[1]
        try:
            s.connect(('127.0.0.1', port))
            break
        except ConnectionResetError:
            # The server refused this very connection before the client ran again.
            reset = True
            break
        except OSError:
            s.close()
            time.sleep(0.2)
    else:
        sys.exit('client %d: cannot connect to 127.0.0.1:%d' % (i, port))
    try:
        if reset:
            raise ConnectionResetError
        data = s.recv(128)
        print('client %d (port %d): %s' % (i, local,
              'server said: ' + data.decode().strip() if data else 'closed without data'))
    except ConnectionResetError:
        print('client %d (port %d): connection reset by the server (refused)' % (i, local))
    s.close()
