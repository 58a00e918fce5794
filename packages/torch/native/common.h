// Shared pieces of the binding: the tensor handle table and error conversion.
// The C++ side only binds libtorch; every algorithm lives in TypeScript.
//
// A JS Tensor holds a number, the handle of one slot of this table. Handles make creating a tensor
// from JS cheap (a plain JS object instead of a wrapped one: ~0.3 µs instead of ~1.8 µs per op).
// A handle carries its slot's generation, so a stale handle (disposed tensor, or a finalizer that
// runs after dispose) is detected and never touches the slot's next tenant.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <exception>
#include <string>

namespace robusta {

// The TorchError constructor registered from TypeScript at start-up.
Napi::FunctionReference& ErrorClass();

// Throws a TorchError (a JS exception) carrying libtorch's message.
[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& message);

// Stores a tensor and returns its handle; an undefined tensor gives -1.
double PutTensor(Napi::Env env, at::Tensor t);
// The tensor of a handle, or a TorchError when it was disposed.
const at::Tensor& GetTensor(Napi::Env env, double handle);
// The tensor behind a JS argument that must be a handle, with a TypeError naming it otherwise.
const at::Tensor& UnwrapTensor(Napi::Env env, const Napi::Value& v, const char* what);
// Gives the tensor of `handle` its weak JS owner (the GC safety net) and counts its bytes for V8.
void OwnTensor(Napi::Env env, napi_value owner, double handle);
// A JS number for a tensor result (-1 for an undefined tensor).
Napi::Value WrapTensor(Napi::Env env, at::Tensor t);

void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitCpuCache(Napi::Env env, Napi::Object exports);

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
