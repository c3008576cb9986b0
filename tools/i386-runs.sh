#!/bin/sh
# Whether this kernel runs 32-bit x86 programs (some kernels are built without, or boot with
# ia32_emulation=0): runs a 96-byte static i386 ELF that only exits with status 42.
#   tools/i386-runs.sh     exit 0: they run; 1: they do not (the reason on stdout)
probe=$(mktemp /tmp/ws2-i386-probe.XXXXXX)
trap 'rm -f "$probe"' EXIT
# ELF header, one PT_LOAD program header, then: mov eax,1; mov ebx,42; int 0x80.
printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000' >"$probe"
printf '\002\000\003\000\001\000\000\000\124\200\004\010\064\000\000\000' >>"$probe"
printf '\000\000\000\000\000\000\000\000\064\000\040\000\001\000\000\000' >>"$probe"
printf '\000\000\000\000\001\000\000\000\000\000\000\000\000\200\004\010' >>"$probe"
printf '\000\200\004\010\140\000\000\000\140\000\000\000\005\000\000\000' >>"$probe"
printf '\000\020\000\000\270\001\000\000\000\273\052\000\000\000\315\200' >>"$probe"
chmod +x "$probe"
status=0
"$probe" 2>/dev/null || status=$?
[ "$status" -eq 42 ] && exit 0
echo "this kernel does not run 32-bit x86 programs (a static i386 probe exited with $status)"
exit 1
