#!/bin/sh
# Runs Wine's own ws2_32 conformance tests (dlls/ws2_32/tests: afd, protocol, sock) from the
# source package of exactly the installed Wine, once per unit against Wine's builtin ws2_32
# (several times, so that its flaky checks are known) and once with a given ws2_32.dll as a
# drop-in, and fails when a check fails on the drop-in that never failed on the builtin.
# Ends with the line "N passed, N failed".  See docs/wine-suite.md.
#   tools/wine-suite.sh --arch x64|x86 --dll PATH/ws2_32.dll --work DIR [options]
#   tools/wine-suite.sh --report docs/wine-suite.md --work DIR
# Wine's tests are fetched (apt-get source) and built in DIR at test time; none are kept here.
exec python3 "$(dirname "$0")/wine_suite.py" "$@"
