// Autograd entry points that are not operators: backward, grad, and the grad-mode switch.
#include "common.h"

#include <torch/csrc/autograd/autograd.h>
#include <ATen/core/grad_mode.h>

namespace robusta {
namespace {

std::vector<at::Tensor> TensorArray(Napi::Env env, const Napi::Value& v, const char* what, bool allowNull) {
  std::vector<at::Tensor> out;
  if (allowNull && (v.IsNull() || v.IsUndefined())) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("expected an array of Tensors for ") + what);
  Napi::Array a = v.As<Napi::Array>();
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (allowNull && (e.IsNull() || e.IsUndefined())) out.emplace_back();
    else out.push_back(UnwrapTensor(env, e, what));
  }
  return out;
}

c10::optional<bool> OptionalBool(const Napi::Value& v) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  return c10::nullopt;
}

// backward(tensors, gradTensors|null, retainGraph?, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto tensors = TensorArray(env, info[0], "tensors", false);
  auto grads = TensorArray(env, info[1], "gradient", true);
  ROBUSTA_TRY
  torch::autograd::backward(tensors, grads, OptionalBool(info[2]), info[3].ToBoolean().Value());
  ROBUSTA_CATCH(env)
  return env.Undefined();
}

// grad(outputs, inputs, gradOutputs|null, retainGraph?, createGraph, allowUnused) -> (Tensor|null)[]
Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = TensorArray(env, info[0], "outputs", false);
  auto inputs = TensorArray(env, info[1], "inputs", false);
  auto gradOutputs = TensorArray(env, info[2], "gradOutputs", true);
  ROBUSTA_TRY
  auto result = torch::autograd::grad(outputs, inputs, gradOutputs, OptionalBool(info[3]), info[4].ToBoolean().Value(),
                                      info[5].ToBoolean().Value());
  Napi::Array out = Napi::Array::New(env, result.size());
  for (size_t i = 0; i < result.size(); ++i) out.Set(static_cast<uint32_t>(i), WrapTensor(env, result[i]));
  return out;
  ROBUSTA_CATCH(env)
}

// setGradEnabled(flag) -> the previous setting (grad mode is per thread; Node runs ops on one thread)
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

}  // namespace

void InitAutograd(Napi::Env env, Napi::Object exports) {
  exports.Set("backward", Napi::Function::New<Backward>(env, "backward"));
  exports.Set("grad", Napi::Function::New<Grad>(env, "grad"));
  exports.Set("setGradEnabled", Napi::Function::New<SetGradEnabled>(env, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New<IsGradEnabled>(env, "isGradEnabled"));
}

}  // namespace robusta
