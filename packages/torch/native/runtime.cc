// Process-wide settings: threads, seeds and RNG state, CUDA availability, allocator tuning, version.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <malloc.h>
#include <thread>

namespace robusta {
namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = info[0].ToNumber().Int32Value();
  if (n < 1) throw Napi::RangeError::New(env, "setNumThreads: the thread count must be at least 1");
  ROBUSTA_TRY
  at::set_num_threads(n);
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value HardwareConcurrency(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), std::thread::hardware_concurrency());
}

// manualSeed(seed): seeds the CPU generator and, where present, every CUDA generator.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t seed;
  if (info[0].IsBigInt()) {
    bool lossless;
    seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  } else {
    double d = info[0].ToNumber().DoubleValue();
    if (!(d >= 0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw Napi::RangeError::New(env, "manualSeed: the seed must be a non-negative integer");
    }
    seed = static_cast<uint64_t>(d);
  }
  ROBUSTA_TRY
  torch::manual_seed(seed);
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

at::Generator DefaultGenerator(Napi::Env env, const Napi::Value& device) {
  std::string name = device.IsString() ? device.As<Napi::String>().Utf8Value() : "cpu";
  c10::Device d(name);
  return at::globalContext().defaultGenerator(d);
}

// getRngState(device='cpu') -> uint8 Tensor; setRngState(tensor, device='cpu')
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  at::Generator gen = DefaultGenerator(env, info[0]);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return WrapTensor(env, gen.get_state());
  ROBUSTA_CATCH(env)
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& state = UnwrapTensor(env, info[0], "state");
  ROBUSTA_TRY
  at::Generator gen = DefaultGenerator(env, info[1]);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

// glibc returns freed multi-MB activation buffers to the OS and faults them back in on the next
// step; keeping them mapped made both Node and Python 30-40 % faster on conv nets (engine-facts.md).
void TuneMalloc() {
  if (getenv("ROBUSTA_NO_MALLOPT")) return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  TuneMalloc();
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("hardwareConcurrency", Napi::Function::New<HardwareConcurrency>(env, "hardwareConcurrency"));
  exports.Set("manualSeed", Napi::Function::New<ManualSeed>(env, "manualSeed"));
  exports.Set("getRngState", Napi::Function::New<GetRngState>(env, "getRngState"));
  exports.Set("setRngState", Napi::Function::New<SetRngState>(env, "setRngState"));
  exports.Set("cudaIsAvailable", Napi::Function::New<CudaIsAvailable>(env, "cudaIsAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New<CudaDeviceCount>(env, "cudaDeviceCount"));
  exports.Set("version", Napi::Function::New<Version>(env, "version"));
}

}  // namespace robusta
