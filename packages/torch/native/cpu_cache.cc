// A caching CPU allocator for large blocks (≥ 1 MiB): a freed block is kept and handed to the next
// allocation of about its size, instead of going back to glibc.
//
// Why: glibc serves blocks above its mmap threshold (at most 32 MiB, see TuneMalloc) with mmap and
// returns them with munmap, so each step of an attack or a training loop on a large batch maps its
// big activations afresh and takes a page fault per 4 KiB page touched: on the MNIST CNN at batch
// 1,000 (100 MB conv outputs), PGD-20 spent 1.8-8 s of its 5.6-8.9 s in the kernel. Steps repeat the same
// sizes, so reusing the blocks removes nearly all of it. CUDA's caching allocator does the same on GPUs.
//
// Each block carries its capacity in a 64-byte header (the alignment libtorch asks for), so one
// deleter serves every block, and small ones pass straight through to malloc without a lock. Blocks
// come from posix_memalign with libtorch's 64-byte alignment, as c10's own CPU allocator does.
// The cache holds at most ROBUSTA_CPU_CACHE_MB megabytes (default 1024; 0 turns the allocator off).
// A block serves any request of at least half its capacity, best fit (the smallest block large
// enough). On PGD-20, MNIST CNN, batch 1,000 that gave a peak RSS of 769–773 MB, against 857 MB when
// a block served only requests within 1/8 of its size, and 791–814 MB without the cache. A request
// the cache cannot serve frees the blocks not taken during the last 512 large allocations (sizes of
// an earlier job). emptyCpuCache() gives everything back.
#include "common.h"

#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <map>
#include <mutex>

namespace robusta {
namespace {

constexpr size_t kHeader = 64;             // keeps the data 64-byte aligned, as libtorch asks
constexpr size_t kMinCached = 1 << 20;     // smaller blocks are not cached
// A cached block not taken during this many large allocations is stale (a size of an earlier job or
// batch size): the next miss frees it. A loop reuses its blocks every step, far more often.
constexpr uint64_t kStaleAfter = 512;
constexpr size_t kDefaultLimit = size_t{1024} << 20;  // when ROBUSTA_CPU_CACHE_MB is unset or unreadable

struct Block {
  void* base;
  uint64_t cachedAt;  // the allocation clock when it was cached
};

using FreeList = std::multimap<size_t, Block>;  // capacity -> block (base includes the header)

struct Cache {
  std::mutex mutex;
  FreeList free;
  size_t cachedBytes = 0;
  uint64_t clock = 0;                      // large allocations so far
  size_t limitBytes = 0;
  double hits = 0;
  double misses = 0;
};
Cache& cache() {
  static Cache* c = new Cache();            // never destroyed: blocks may be freed during exit
  return *c;
}

// Frees a cached block (the cache's mutex held); returns the next entry.
FreeList::iterator Drop(Cache& c, FreeList::iterator it) {
  c.cachedBytes -= it->first;
  std::free(it->second.base);
  return c.free.erase(it);
}

void* DataOf(void* base) { return static_cast<char*>(base) + kHeader; }
void* BaseOf(void* data) { return static_cast<char*>(data) - kHeader; }
size_t& CapacityOf(void* base) { return *static_cast<size_t*>(base); }

void FreeBlock(void* data) {
  if (data == nullptr) return;
  void* base = BaseOf(data);
  const size_t capacity = CapacityOf(base);
  if (capacity >= kMinCached) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (capacity <= c.limitBytes) {
      // Make room: give back the largest cached blocks first (the likeliest to be stale sizes).
      while (c.cachedBytes + capacity > c.limitBytes && !c.free.empty()) Drop(c, std::prev(c.free.end()));
      c.free.emplace(capacity, Block{base, c.clock});
      c.cachedBytes += capacity;
      return;
    }
  }
  std::free(base);
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    void* base = nullptr;
    size_t capacity = n;
    if (n >= kMinCached) {
      Cache& c = cache();
      std::lock_guard<std::mutex> lock(c.mutex);
      ++c.clock;
      auto it = c.free.lower_bound(n);
      if (it != c.free.end() && it->first - n <= it->first / 2) {
        capacity = it->first;
        base = it->second.base;
        c.cachedBytes -= capacity;
        c.free.erase(it);
        ++c.hits;
      } else {
        ++c.misses;
        // A size the cache cannot serve: free the stale blocks, so that memory held plus cached
        // does not keep the sizes of an earlier job or batch size.
        for (auto b = c.free.begin(); b != c.free.end();) {
          b = c.clock - b->second.cachedAt > kStaleAfter ? Drop(c, b) : std::next(b);
        }
      }
    }
    if (base == nullptr && posix_memalign(&base, kHeader, capacity + kHeader) != 0) {
      TORCH_CHECK(false, "robusta: out of memory: could not allocate ", capacity, " bytes on the CPU");
    }
    CapacityOf(base) = capacity;
    void* data = DataOf(base);
    return {data, data, &FreeBlock, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &FreeBlock; }
};

size_t LimitFromEnv() {
  const char* v = getenv("ROBUSTA_CPU_CACHE_MB");
  if (v == nullptr || *v == '\0') return kDefaultLimit;
  char* end = nullptr;
  const double mb = std::strtod(v, &end);
  if (end == v || !(mb >= 0)) return kDefaultLimit;
  return static_cast<size_t>(mb * 1048576.0);
}

void EmptyCache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  while (!c.free.empty()) Drop(c, c.free.begin());
}

// emptyCpuCache(): frees every cached block (their memory goes back to glibc, and to the OS).
Napi::Value EmptyCpuCache(const Napi::CallbackInfo& info) {
  EmptyCache();
  return info.Env().Undefined();
}

// cpuCacheStats(): { enabled, cachedBytes, limitBytes, hits, misses }.
Napi::Value CpuCacheStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", Napi::Boolean::New(env, c.limitBytes > 0));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(c.cachedBytes)));
  o.Set("limitBytes", Napi::Number::New(env, static_cast<double>(c.limitBytes)));
  o.Set("hits", Napi::Number::New(env, c.hits));
  o.Set("misses", Napi::Number::New(env, c.misses));
  return o;
}

}  // namespace

void InitCpuCache(Napi::Env env, Napi::Object exports) {
  static CachingCpuAllocator allocator;
  static bool installed = false;
  if (!installed) {
    installed = true;
    const size_t limit = LimitFromEnv();
    if (limit > 0) {
      cache().limitBytes = limit;
      // Tensors made before keep their own deleter; every later CPU allocation comes here.
      c10::SetCPUAllocator(&allocator, /*priority=*/1);
    }
  }
  exports.Set("emptyCpuCache", Napi::Function::New<EmptyCpuCache>(env, "emptyCpuCache"));
  exports.Set("cpuCacheStats", Napi::Function::New<CpuCacheStats>(env, "cpuCacheStats"));
}

}  // namespace robusta
