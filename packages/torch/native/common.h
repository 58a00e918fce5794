// Shared pieces of the binding: the JS-visible Tensor wrapper and error conversion.
// The C++ side only binds libtorch; every algorithm lives in TypeScript.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <exception>
#include <string>

namespace robusta {

// Constructors registered from TypeScript at start-up (the Tensor subclass and TorchError).
struct Classes {
  Napi::FunctionReference tensor;
  Napi::FunctionReference error;
};
Classes& classes();

// Throws a TorchError (a JS exception) carrying libtorch's message.
[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& message);

// One JS object owns one at::Tensor. dispose() frees it now; the GC finalizer is the safety net.
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  // The tensor, or a TorchError when it was disposed.
  const at::Tensor& get(Napi::Env env) const;
  bool disposed() const { return !alive_; }
  void release();

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Strides(const Napi::CallbackInfo& info);
  Napi::Value Dim(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value DtypeCode(const Napi::CallbackInfo& info);
  Napi::Value DeviceName(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  void SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& value);
  Napi::Value IsLeaf(const Napi::CallbackInfo& info);
  Napi::Value GradFnName(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  void SetGrad(const Napi::CallbackInfo& info, const Napi::Value& value);
  Napi::Value RetainGrad(const Napi::CallbackInfo& info);
  Napi::Value IsContiguous(const Napi::CallbackInfo& info);
  Napi::Value SameStorage(const Napi::CallbackInfo& info);
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);
  Napi::Value CopyFromBuffer(const Napi::CallbackInfo& info);
  Napi::Value Print(const Napi::CallbackInfo& info);
  Napi::Value StorageBytes(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
  const void* storage_key_ = nullptr;
  bool alive_ = false;
};

// Wraps a tensor in a new JS Tensor; an undefined tensor becomes null.
Napi::Value WrapTensor(Napi::Env env, at::Tensor t);
// The tensor of a JS Tensor argument, with a TypeError naming the argument otherwise.
const at::Tensor& UnwrapTensor(Napi::Env env, const Napi::Value& v, const char* what);
bool IsTensor(Napi::Env env, const Napi::Value& v);

// Native bytes currently owned by live wrappers (counted once per storage).
int64_t TrackedBytes();
int64_t LiveWrappers();

void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitTensorFactories(Napi::Env env, Napi::Object exports);

}  // namespace robusta

// Converts any C++ exception escaping a binding into a JS TorchError.
#define ROBUSTA_TRY try {
#define ROBUSTA_CATCH(env)                                              \
  }                                                                    \
  catch (const Napi::Error&) {                                         \
    throw;                                                             \
  }                                                                    \
  catch (const c10::Error& e) {                                        \
    ::robusta::ThrowTorchError(env, e.what_without_backtrace());       \
  }                                                                    \
  catch (const std::exception& e) {                                    \
    ::robusta::ThrowTorchError(env, e.what());                         \
  }
