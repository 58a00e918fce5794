// The xoshiro128** / splitmix32 stream of src/stats/random.ts written again in Python from the
// algorithm's definition, for the tests that replay the library's random draws in Python.
export const PY_RNG = `
M32 = 0xffffffff
def rotl(v, k):
    return ((v << k) | (v >> (32 - k))) & M32
class Xoshiro128ss:
    def __init__(self, state):
        self.s = [v & M32 for v in state]
    def next_uint32(self):
        s = self.s
        out = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 11)
        return out
    def next_int(self, n):
        return (self.next_uint32() * n) >> 32   # floor(u / 2**32 * n), exactly
def splitmix32_state(seed):
    z = seed & M32
    out = []
    for _ in range(4):
        z = (z + 0x9e3779b9) & M32
        t = z
        t = ((t ^ (t >> 16)) * 0x85ebca6b) & M32
        t = ((t ^ (t >> 13)) * 0xc2b2ae35) & M32
        out.append(t ^ (t >> 16))
    return out
`;
