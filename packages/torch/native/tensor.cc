// The Tensor wrapper: ownership, deterministic release, external-memory accounting, raw data access.
#include "common.h"

#include <torch/csrc/autograd/function.h>

#include <cstring>
#include <sstream>
#include <unordered_map>

namespace robusta {

Classes& classes() {
  static Classes c;
  return c;
}

void ThrowTorchError(Napi::Env env, const std::string& message) {
  if (!classes().error.IsEmpty()) {
    Napi::Value err = classes().error.New({Napi::String::New(env, message)});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, message);
}

namespace {

// V8 only collects wrappers when it knows what they hold natively. Bytes are counted once per
// storage (views share it), when its first wrapper appears, and returned when its last one goes.
struct StorageCount {
  int64_t wrappers;
  int64_t bytes;
};
std::unordered_map<const void*, StorageCount>& storages() {
  static std::unordered_map<const void*, StorageCount> m;
  return m;
}
int64_t g_tracked_bytes = 0;
int64_t g_live_wrappers = 0;

// The next tensor to adopt: WrapTensor hands it to the constructor it calls.
at::Tensor g_pending;
bool g_has_pending = false;

const void* StorageKey(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return nullptr;
  return t.storage().unsafeGetStorageImpl();
}

}  // namespace

int64_t TrackedBytes() { return g_tracked_bytes; }
int64_t LiveWrappers() { return g_live_wrappers; }

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  if (!g_has_pending) {
    throw Napi::TypeError::New(env, "Tensor cannot be constructed directly: use tensor(), zeros(), fromArray() ...");
  }
  tensor_ = std::move(g_pending);
  g_has_pending = false;
  alive_ = true;
  g_live_wrappers++;
  storage_key_ = StorageKey(tensor_);
  if (storage_key_) {
    auto& entry = storages()[storage_key_];
    if (entry.wrappers++ == 0) {
      entry.bytes = static_cast<int64_t>(tensor_.storage().nbytes());
      g_tracked_bytes += entry.bytes;
      Napi::MemoryManagement::AdjustExternalMemory(env, entry.bytes);
    }
  }
}

void TensorWrap::release() {
  if (!alive_) return;
  alive_ = false;
  g_live_wrappers--;
  if (storage_key_) {
    auto it = storages().find(storage_key_);
    if (it != storages().end() && --it->second.wrappers == 0) {
      int64_t bytes = it->second.bytes;
      storages().erase(it);
      g_tracked_bytes -= bytes;
      Napi::MemoryManagement::AdjustExternalMemory(Env(), -bytes);
    }
    storage_key_ = nullptr;
  }
  tensor_.reset();
}

TensorWrap::~TensorWrap() { release(); }

const at::Tensor& TensorWrap::get(Napi::Env env) const {
  if (!alive_) ThrowTorchError(env, "Tensor was disposed: it cannot be used after dispose() or the end of its tidy() scope");
  return tensor_;
}

Napi::Value WrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  g_pending = std::move(t);
  g_has_pending = true;
  Napi::Object obj = classes().tensor.New({});
  if (g_has_pending) {  // the constructor did not run (it threw): do not leak the tensor into the next wrapper
    g_pending.reset();
    g_has_pending = false;
  }
  return obj;
}

bool IsTensor(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) return false;
  return v.As<Napi::Object>().InstanceOf(classes().tensor.Value());
}

const at::Tensor& UnwrapTensor(Napi::Env env, const Napi::Value& v, const char* what) {
  if (v.IsObject()) {
    TensorWrap* w = nullptr;
    napi_status s = napi_unwrap(env, v, reinterpret_cast<void**>(&w));
    if (s == napi_ok && w != nullptr) return w->get(env);
  }
  throw Napi::TypeError::New(env, std::string("expected a Tensor for ") + what);
}

Napi::Function TensorWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeTensor", {
    InstanceMethod<&TensorWrap::Dispose>("dispose"),
    InstanceAccessor<&TensorWrap::IsDisposed>("isDisposed"),
    InstanceAccessor<&TensorWrap::Shape>("shape"),
    InstanceMethod<&TensorWrap::Strides>("stride"),
    InstanceMethod<&TensorWrap::Dim>("dim"),
    InstanceMethod<&TensorWrap::Numel>("numel"),
    InstanceAccessor<&TensorWrap::DtypeCode>("_dtypeCode"),
    InstanceAccessor<&TensorWrap::DeviceName>("_deviceName"),
    InstanceAccessor<&TensorWrap::RequiresGrad, &TensorWrap::SetRequiresGrad>("requiresGrad"),
    InstanceAccessor<&TensorWrap::IsLeaf>("isLeaf"),
    InstanceAccessor<&TensorWrap::GradFnName>("gradFn"),
    InstanceAccessor<&TensorWrap::Grad, &TensorWrap::SetGrad>("grad"),
    InstanceMethod<&TensorWrap::RetainGrad>("retainGrad"),
    InstanceMethod<&TensorWrap::IsContiguous>("isContiguous"),
    InstanceMethod<&TensorWrap::SameStorage>("_sameStorage"),
    InstanceMethod<&TensorWrap::ToBuffer>("_toBuffer"),
    InstanceMethod<&TensorWrap::CopyFromBuffer>("_copyFromBuffer"),
    InstanceMethod<&TensorWrap::Print>("_print"),
    InstanceMethod<&TensorWrap::StorageBytes>("_storageBytes"),
  });
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !alive_);
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = get(env);
  auto sizes = t.sizes();
  Napi::Array out = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
  return out;
}

Napi::Value TensorWrap::Strides(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = get(env);
  auto strides = t.strides();
  Napi::Array out = Napi::Array::New(env, strides.size());
  for (size_t i = 0; i < strides.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(strides[i])));
  return out;
}

Napi::Value TensorWrap::Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(get(info.Env()).dim()));
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(get(info.Env()).numel()));
}

Napi::Value TensorWrap::DtypeCode(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(get(info.Env()).scalar_type()));
}

Napi::Value TensorWrap::DeviceName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), get(info.Env()).device().str());
}

Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), get(info.Env()).requires_grad());
}

void SetRequiresGradImpl(Napi::Env env, const at::Tensor& t, bool flag) {
  ROBUSTA_TRY
  const_cast<at::Tensor&>(t).set_requires_grad(flag);
  ROBUSTA_CATCH(env)
}

void TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& value) {
  Napi::Env env = info.Env();
  SetRequiresGradImpl(env, get(env), value.ToBoolean().Value());
}

Napi::Value TensorWrap::IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), get(info.Env()).is_leaf());
}

Napi::Value TensorWrap::GradFnName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = get(env);
  auto fn = t.grad_fn();
  if (!fn) return env.Null();
  return Napi::String::New(env, fn->name());
}

Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WrapTensor(env, get(env).grad());
}

void TensorWrap::SetGrad(const Napi::CallbackInfo& info, const Napi::Value& value) {
  Napi::Env env = info.Env();
  at::Tensor& t = const_cast<at::Tensor&>(get(env));
  ROBUSTA_TRY
  if (value.IsNull() || value.IsUndefined()) {
    t.mutable_grad().reset();
  } else {
    const at::Tensor& g = UnwrapTensor(env, value, "grad");
    TORCH_CHECK(g.sizes() == t.sizes(), "assigned grad has shape ", g.sizes(), " but the tensor has shape ", t.sizes());
    TORCH_CHECK(g.scalar_type() == t.scalar_type(), "assigned grad has dtype ", g.scalar_type(), " but the tensor has ", t.scalar_type());
    TORCH_CHECK(g.device() == t.device(), "assigned grad is on ", g.device(), " but the tensor is on ", t.device());
    t.mutable_grad() = g;
  }
  ROBUSTA_CATCH(env)
}

Napi::Value TensorWrap::RetainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  get(env).retain_grad();
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value TensorWrap::IsContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), get(info.Env()).is_contiguous());
}

Napi::Value TensorWrap::SameStorage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& other = UnwrapTensor(env, info[0], "other");
  return Napi::Boolean::New(env, StorageKey(get(env)) != nullptr && StorageKey(get(env)) == StorageKey(other));
}

Napi::Value TensorWrap::StorageBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = get(env);
  return Napi::Number::New(env, t.has_storage() ? static_cast<double>(t.storage().nbytes()) : 0.0);
}

// Copies the tensor's elements (row-major, on the CPU) into a new ArrayBuffer.
Napi::Value TensorWrap::ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  at::Tensor c = get(env).detach().to(at::kCPU).contiguous();
  size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, nbytes);
  if (nbytes > 0) std::memcpy(buf.Data(), c.data_ptr(), nbytes);
  return buf;
  ROBUSTA_CATCH(env)
}

// Overwrites the tensor's elements from a typed array of exactly its byte size.
Napi::Value TensorWrap::CopyFromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = get(env);
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "expected a typed array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (ta.ByteLength() != nbytes) {
    throw Napi::RangeError::New(env, "typed array has " + std::to_string(ta.ByteLength()) + " bytes, the tensor needs " + std::to_string(nbytes));
  }
  ROBUSTA_TRY
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  at::Tensor staging = at::empty(t.sizes(), t.options().device(at::kCPU).requires_grad(false));
  if (nbytes > 0) std::memcpy(staging.data_ptr(), src, nbytes);
  at::NoGradGuard no_grad;
  const_cast<at::Tensor&>(t).copy_(staging);
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

Napi::Value TensorWrap::Print(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ROBUSTA_TRY
  std::ostringstream os;
  os << get(env);
  return Napi::String::New(env, os.str());
  ROBUSTA_CATCH(env)
}

namespace {

// fromBuffer(typedArray, shape, dtypeCode): a new CPU tensor holding a copy of the bytes.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a typed array");
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a shape array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  Napi::Array shapeArr = info[1].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArr.Length());
  for (uint32_t i = 0; i < shapeArr.Length(); ++i) {
    double d = shapeArr.Get(i).ToNumber().DoubleValue();
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::RangeError::New(env, "fromBuffer: shape entries must be non-negative integers");
    }
    shape[i] = static_cast<int64_t>(d);
  }
  auto dtype = static_cast<at::ScalarType>(info[2].ToNumber().Int32Value());
  ROBUSTA_TRY
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (ta.ByteLength() != nbytes) {
    throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes given for shape " +
                                         c10::str(t.sizes()) + " of " + c10::toString(dtype) + " (" + std::to_string(nbytes) + " bytes)");
  }
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (nbytes > 0) std::memcpy(t.data_ptr(), src, nbytes);
  return WrapTensor(env, std::move(t));
  ROBUSTA_CATCH(env)
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("trackedBytes", Napi::Number::New(env, static_cast<double>(g_tracked_bytes)));
  o.Set("liveTensors", Napi::Number::New(env, static_cast<double>(g_live_wrappers)));
  o.Set("storages", Napi::Number::New(env, static_cast<double>(storages().size())));
  return o;
}

}  // namespace

void InitTensorFactories(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New<FromBuffer>(env, "fromBuffer"));
  exports.Set("memoryStats", Napi::Function::New<MemoryStats>(env, "memoryStats"));
}

}  // namespace robusta
