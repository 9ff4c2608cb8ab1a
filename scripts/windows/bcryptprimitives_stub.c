/* Test-only stand-in for bcryptprimitives.dll under Wine 8, which lacks
 * ProcessPrng (imported by every Rust >= 1.78 Windows binary). Placed beside the
 * .exe when running tests under wine; never shipped. Forwards to RtlGenRandom. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
