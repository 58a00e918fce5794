// Module entry: registers the Tensor class and the binding's functions.
#include "common.h"

namespace robusta {
namespace {

// setErrorClass(TorchError): TypeScript hands over the error class the binding throws.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "setErrorClass(TorchError)");
  ErrorClass() = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClass>(env, "setErrorClass"));
  InitTensor(env, exports);
  InitOps(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitCpuCache(env, exports);
  return exports;
}

}  // namespace
}  // namespace robusta

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return robusta::Init(env, exports); }
NODE_API_MODULE(torch_native, InitModule)
