// Module entry: registers the Tensor class and the binding's functions.
#include "common.h"

namespace robusta {
namespace {

// setClasses(TensorSubclass, TorchError): TypeScript hands over the classes the binding instantiates.
Napi::Value SetClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "setClasses(Tensor, TorchError)");
  classes().tensor = Napi::Persistent(info[0].As<Napi::Function>());
  classes().error = Napi::Persistent(info[1].As<Napi::Function>());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeTensor", TensorWrap::Define(env));
  exports.Set("setClasses", Napi::Function::New<SetClasses>(env, "setClasses"));
  InitTensorFactories(env, exports);
  InitOps(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  return exports;
}

}  // namespace
}  // namespace robusta

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return robusta::Init(env, exports); }
NODE_API_MODULE(torch_native, InitModule)
