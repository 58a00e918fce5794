// The tensor handle table: ownership, deterministic release, external-memory accounting,
// per-tensor accessors and raw data access.
#include "common.h"

#include <torch/csrc/autograd/function.h>
#include <v8.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace robusta {

Napi::FunctionReference& ErrorClass() {
  static Napi::FunctionReference ref;
  return ref;
}

void ThrowTorchError(Napi::Env env, const std::string& message) {
  if (!ErrorClass().IsEmpty()) {
    Napi::Value err = ErrorClass().New({Napi::String::New(env, message)});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, message);
}

namespace {

// handle = slot + generation * 2^32 (exact in a double up to generation 2^21, then it wraps).
constexpr double kSlotSpan = 4294967296.0;
constexpr uint32_t kGenerationMask = (1u << 21) - 1;
// Storages smaller than this are counted per handle, without the per-storage map: a map entry per
// tiny tensor (a node allocation and two hash lookups) cost about a tenth of a 4-element add.
constexpr int64_t kSmallStorageBytes = 1024;
// V8 learns of native memory in steps of this size: it only needs to know when megabytes move.
constexpr int64_t kReportQuantum = 1 << 20;

struct Slot {
  at::Tensor tensor;
  const void* storage = nullptr;  // the storage counted in g_storages, or null
  int64_t ownBytes = 0;           // bytes counted for this handle alone (small storages)
  bool counted = false;           // whether this slot's bytes are counted (it has a weak owner)
  uint32_t generation = 0;
  bool live = false;
  // A weak reference to the JS Tensor that owns this slot (see Track): when V8 collects the object,
  // the tensor is freed during that GC, synchronously. FinalizationRegistry and N-API finalizers run
  // on a later tick, i.e. never inside a synchronous training loop (engine-facts.md).
  v8::Global<v8::Object> owner;
};
// Never destroyed: at exit, V8 is gone before static destructors would reset the weak handles.
std::vector<Slot>& g_slots = *new std::vector<Slot>();
std::vector<uint32_t> g_free;
int64_t g_live = 0;
// Tensors the GC freed (their JS owner was collected), since start. Leak checks compare
// live + collected: a collection between two readings must not look like a freed leak.
int64_t g_collected = 0;

// V8 only collects tensors when it knows what they hold natively. The bytes of tensors with a weak
// owner (those outside every tidy() scope) are counted: large storages once per storage (views share
// it), when its first such handle appears, returned when its last one goes; small ones per handle.
struct StorageCount {
  int64_t handles;
  int64_t bytes;
};
std::unordered_map<const void*, StorageCount> g_storages;
int64_t g_tracked_bytes = 0;
// Bytes counted (+) or released (-) but not yet reported to V8. Frees inside GC (where V8 must not
// be called) only add to it; the next handle operation reports.
int64_t g_unreported = 0;

void Count(int64_t delta) {
  g_tracked_bytes += delta;
  g_unreported += delta;
}

void ReportToV8(Napi::Env env) {
  if (g_unreported >= kReportQuantum || g_unreported <= -kReportQuantum) {
    Napi::MemoryManagement::AdjustExternalMemory(env, g_unreported);
    g_unreported = 0;
  }
}

const void* StorageKey(const at::Tensor& t) {
  if (!t.has_storage()) return nullptr;
  return t.storage().unsafeGetStorageImpl();
}

[[noreturn]] void Disposed(Napi::Env env) {
  ThrowTorchError(env, "Tensor was disposed: it cannot be used after dispose() or the end of its tidy() scope");
}

Slot* Lookup(double handle) {
  if (!(handle >= 0 && handle < 9007199254740992.0)) return nullptr;
  const uint64_t packed = static_cast<uint64_t>(handle);
  const size_t slot = static_cast<size_t>(packed & 0xffffffffu);
  const uint32_t gen = static_cast<uint32_t>(packed >> 32);
  if (slot >= g_slots.size()) return nullptr;
  Slot& s = g_slots[slot];
  if (!s.live || s.generation != gen) return nullptr;
  return &s;
}

// Frees a slot and uncounts its bytes (no V8 call: this also runs inside GC).
void ReleaseSlot(Slot& s, size_t index) {
  if (s.storage) {
    auto it = g_storages.find(s.storage);
    if (it != g_storages.end() && --it->second.handles == 0) {
      Count(-it->second.bytes);
      g_storages.erase(it);
    }
    s.storage = nullptr;
  }
  if (s.ownBytes) {
    Count(-s.ownBytes);
    s.ownBytes = 0;
  }
  s.counted = false;
  s.owner.Reset();
  s.tensor.reset();
  s.live = false;
  s.generation = (s.generation + 1) & kGenerationMask;
  g_free.push_back(static_cast<uint32_t>(index));
  g_live--;
}

void Release(Napi::Env env, Slot& s, size_t index) {
  ReleaseSlot(s, index);
  ReportToV8(env);
}

// Counts a slot's bytes for V8 (once): called when the slot gets its weak owner. Tensors a tidy()
// scope owns are never counted: the scope frees them, V8 could not collect them while the scope holds
// them, and counting the activations of every step made V8 start a major GC (concurrent marking on
// the cores libtorch computes on) at every step of a training or attack loop.
void CountSlot(Napi::Env env, Slot& s) {
  if (s.counted || !s.tensor.has_storage()) return;
  s.counted = true;
  const c10::StorageImpl* impl = s.tensor.storage().unsafeGetStorageImpl();
  const int64_t bytes = static_cast<int64_t>(impl->nbytes());
  if (bytes < kSmallStorageBytes) {
    s.ownBytes = bytes;
    Count(bytes);
  } else {
    s.storage = impl;
    auto& entry = g_storages[impl];
    if (entry.handles++ == 0) {
      entry.bytes = bytes;
      Count(bytes);
    }
  }
  ReportToV8(env);
}

uint64_t Pack(size_t index, uint32_t generation) { return (static_cast<uint64_t>(generation) << 32) | index; }

// First-pass weak callback: runs inside GC, so it touches only our own state.
void OnOwnerCollected(const v8::WeakCallbackInfo<void>& data) {
  uint64_t packed = reinterpret_cast<uintptr_t>(data.GetParameter());
  size_t index = static_cast<size_t>(packed & 0xffffffffu);
  uint32_t generation = static_cast<uint32_t>(packed >> 32);
  if (index >= g_slots.size()) return;
  Slot& s = g_slots[index];
  if (!s.live || s.generation != generation) return;
  ReleaseSlot(s, index);
  ++g_collected;
}

}  // namespace

double PutTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return -1;
  uint32_t index;
  if (!g_free.empty()) {
    index = g_free.back();
    g_free.pop_back();
  } else {
    index = static_cast<uint32_t>(g_slots.size());
    g_slots.emplace_back();
  }
  Slot& s = g_slots[index];
  s.tensor = std::move(t);
  s.live = true;
  g_live++;
  return static_cast<double>(index) + static_cast<double>(s.generation) * kSlotSpan;
}

void OwnTensor(Napi::Env env, napi_value owner, double handle) {
  Slot* s = Lookup(handle);
  if (!s) return;
  v8::Local<v8::Object> object;
  static_assert(sizeof(object) == sizeof(owner), "napi_value is a v8::Local");
  std::memcpy(static_cast<void*>(&object), &owner, sizeof(owner));
  size_t index = static_cast<size_t>(s - g_slots.data());
  s->owner.Reset(v8::Isolate::GetCurrent(), object);
  s->owner.SetWeak(reinterpret_cast<void*>(static_cast<uintptr_t>(Pack(index, s->generation))), OnOwnerCollected,
                   v8::WeakCallbackType::kParameter);
  CountSlot(env, *s);
}

const at::Tensor& GetTensor(Napi::Env env, double handle) {
  Slot* s = Lookup(handle);
  if (!s) Disposed(env);
  return s->tensor;
}

const at::Tensor& UnwrapTensor(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("expected a Tensor for '") + what + "'");
  return GetTensor(env, v.As<Napi::Number>().DoubleValue());
}

Napi::Value WrapTensor(Napi::Env env, at::Tensor t) { return Napi::Number::New(env, PutTensor(env, std::move(t))); }

namespace {

const at::Tensor& Arg(const Napi::CallbackInfo& info, size_t i = 0) { return UnwrapTensor(info.Env(), info[i], "tensor"); }

// free(handle): releases the tensor now; a stale or disposed handle is ignored (finalizers may race dispose).
Napi::Value Free(const Napi::CallbackInfo& info) {
  double h = info[0].As<Napi::Number>().DoubleValue();
  if (Slot* s = Lookup(h)) Release(info.Env(), *s, static_cast<size_t>(s - g_slots.data()));
  return info.Env().Undefined();
}

// track(tensorObject, handle): the slot is freed when V8 collects the object (unless disposed first).
Napi::Value Track(const Napi::CallbackInfo& info) {
  if (info[0].IsObject()) OwnTensor(info.Env(), info[0], info[1].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

Napi::Value IsLive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Lookup(info[0].As<Napi::Number>().DoubleValue()) != nullptr);
}

Napi::Array IntArray(Napi::Env env, c10::IntArrayRef values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(values[i])));
  return out;
}

Napi::Value Shape(const Napi::CallbackInfo& info) { return IntArray(info.Env(), Arg(info).sizes()); }
Napi::Value Strides(const Napi::CallbackInfo& info) { return IntArray(info.Env(), Arg(info).strides()); }
Napi::Value Dim(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(Arg(info).dim())); }
Napi::Value Numel(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(Arg(info).numel())); }
Napi::Value DtypeCode(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<int>(Arg(info).scalar_type())); }
Napi::Value DeviceName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), Arg(info).device().str()); }
Napi::Value RequiresGrad(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Arg(info).requires_grad()); }
Napi::Value IsLeaf(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Arg(info).is_leaf()); }
Napi::Value IsContiguous(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Arg(info).is_contiguous()); }

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  const_cast<at::Tensor&>(Arg(info)).set_requires_grad(info[1].ToBoolean().Value());
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value GradFnName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fn = Arg(info).grad_fn();
  if (!fn) return env.Null();
  return Napi::String::New(env, fn->name());
}

Napi::Value Grad(const Napi::CallbackInfo& info) { return WrapTensor(info.Env(), Arg(info).grad()); }

// setGrad(handle, gradHandle | -1)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = const_cast<at::Tensor&>(Arg(info));
  double gh = info[1].As<Napi::Number>().DoubleValue();
  ROBUSTA_TRY
  if (gh < 0) {
    t.mutable_grad().reset();
  } else {
    const at::Tensor& g = GetTensor(env, gh);
    TORCH_CHECK(g.sizes() == t.sizes(), "assigned grad has shape ", g.sizes(), " but the tensor has shape ", t.sizes());
    TORCH_CHECK(g.scalar_type() == t.scalar_type(), "assigned grad has dtype ", g.scalar_type(), " but the tensor has ", t.scalar_type());
    TORCH_CHECK(g.device() == t.device(), "assigned grad is on ", g.device(), " but the tensor is on ", t.device());
    t.mutable_grad() = g;
  }
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  Arg(info).retain_grad();
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value SameStorage(const Napi::CallbackInfo& info) {
  const void* a = StorageKey(Arg(info, 0));
  return Napi::Boolean::New(info.Env(), a != nullptr && a == StorageKey(Arg(info, 1)));
}

// Copies the tensor's elements (row-major, on the CPU) into a new ArrayBuffer.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  at::Tensor c = Arg(info).detach().to(at::kCPU).contiguous();
  size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, nbytes);
  if (nbytes > 0) std::memcpy(buf.Data(), c.data_ptr(), nbytes);
  return buf;
  ROBUSTA_CATCH(env)
}

const uint8_t* TypedArrayBytes(Napi::Env env, const Napi::Value& v, size_t expected, const char* who) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, std::string(who) + ": expected a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.ByteLength() != expected) {
    throw Napi::RangeError::New(env, std::string(who) + ": the typed array has " + std::to_string(ta.ByteLength()) +
                                         " bytes, the tensor needs " + std::to_string(expected));
  }
  return static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
}

// copyFromBuffer(handle, typedArray): overwrites the elements from a typed array of exactly their byte size.
Napi::Value CopyFromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = Arg(info);
  const uint8_t* src = TypedArrayBytes(env, info[1], static_cast<size_t>(t.numel()) * t.element_size(), "copyFromBuffer");
  ROBUSTA_TRY
  at::Tensor staging = at::empty(t.sizes(), t.options().device(at::kCPU).requires_grad(false));
  if (staging.numel() > 0) std::memcpy(staging.data_ptr(), src, static_cast<size_t>(staging.numel()) * staging.element_size());
  at::NoGradGuard no_grad;
  const_cast<at::Tensor&>(t).copy_(staging);
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value Print(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  std::ostringstream os;
  os << Arg(info);
  return Napi::String::New(env, os.str());
  ROBUSTA_CATCH(env)
}

// fromBuffer(typedArray, shape, dtypeCode): a new CPU tensor holding a copy of the bytes.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a shape array");
  Napi::Array shapeArr = info[1].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArr.Length());
  for (uint32_t i = 0; i < shapeArr.Length(); ++i) {
    double d = shapeArr.Get(i).ToNumber().DoubleValue();
    if (!(d >= 0) || d != std::floor(d)) throw Napi::RangeError::New(env, "fromBuffer: shape entries must be non-negative integers");
    shape[i] = static_cast<int64_t>(d);
  }
  auto dtype = static_cast<at::ScalarType>(info[2].ToNumber().Int32Value());
  ROBUSTA_TRY
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  const uint8_t* src = TypedArrayBytes(env, info[0], nbytes, "fromBuffer");
  if (nbytes > 0) std::memcpy(t.data_ptr(), src, nbytes);
  return WrapTensor(env, std::move(t));
  ROBUSTA_CATCH(env)
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("trackedBytes", Napi::Number::New(env, static_cast<double>(g_tracked_bytes)));
  o.Set("liveTensors", Napi::Number::New(env, static_cast<double>(g_live)));
  o.Set("storages", Napi::Number::New(env, static_cast<double>(g_storages.size())));
  o.Set("collectedTensors", Napi::Number::New(env, static_cast<double>(g_collected)));
  return o;
}

}  // namespace

void InitTensor(Napi::Env env, Napi::Object exports) {
  exports.Set("free", Napi::Function::New<Free>(env, "free"));
  exports.Set("isLive", Napi::Function::New<IsLive>(env, "isLive"));
  exports.Set("track", Napi::Function::New<Track>(env, "track"));
  exports.Set("shape", Napi::Function::New<Shape>(env, "shape"));
  exports.Set("stride", Napi::Function::New<Strides>(env, "stride"));
  exports.Set("dim", Napi::Function::New<Dim>(env, "dim"));
  exports.Set("numel", Napi::Function::New<Numel>(env, "numel"));
  exports.Set("dtypeCode", Napi::Function::New<DtypeCode>(env, "dtypeCode"));
  exports.Set("deviceName", Napi::Function::New<DeviceName>(env, "deviceName"));
  exports.Set("requiresGrad", Napi::Function::New<RequiresGrad>(env, "requiresGrad"));
  exports.Set("setRequiresGrad", Napi::Function::New<SetRequiresGrad>(env, "setRequiresGrad"));
  exports.Set("isLeaf", Napi::Function::New<IsLeaf>(env, "isLeaf"));
  exports.Set("gradFnName", Napi::Function::New<GradFnName>(env, "gradFnName"));
  exports.Set("gradOf", Napi::Function::New<Grad>(env, "gradOf"));
  exports.Set("setGrad", Napi::Function::New<SetGrad>(env, "setGrad"));
  exports.Set("retainGrad", Napi::Function::New<RetainGrad>(env, "retainGrad"));
  exports.Set("isContiguous", Napi::Function::New<IsContiguous>(env, "isContiguous"));
  exports.Set("sameStorage", Napi::Function::New<SameStorage>(env, "sameStorage"));
  exports.Set("toBuffer", Napi::Function::New<ToBuffer>(env, "toBuffer"));
  exports.Set("copyFromBuffer", Napi::Function::New<CopyFromBuffer>(env, "copyFromBuffer"));
  exports.Set("print", Napi::Function::New<Print>(env, "print"));
  exports.Set("fromBuffer", Napi::Function::New<FromBuffer>(env, "fromBuffer"));
  exports.Set("memoryStats", Napi::Function::New<MemoryStats>(env, "memoryStats"));
}

}  // namespace robusta
