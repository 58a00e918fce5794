// Generic operator calls through libtorch's dispatcher (the path TorchScript takes).
// TypeScript resolves an operator once by its schema name ("aten::add.Tensor") and calls it by id;
// arguments are converted by the schema's declared types, so every ATen op (with autograd) is
// reachable without new C++.
#include "common.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <cmath>
#include <vector>

namespace robusta {
namespace {

enum class Kind {
  Tensor, Int, Float, Bool, Scalar, String, Device, Generator,
  IntList, FloatList, BoolList, TensorList, OptionalTensorList, Unsupported
};

struct ArgSpec {
  Kind kind;
  bool optional;
  int listSize;  // N of int[N], 0 when unsized
  c10::optional<c10::IValue> defaultValue;
  std::string name;
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::vector<ArgSpec> args;
  std::string name;
};

std::vector<OpEntry>& registry() {
  static std::vector<OpEntry> r;
  return r;
}

Kind KindOf(const c10::TypePtr& t) {
  switch (t->kind()) {
    case c10::TypeKind::TensorType: return Kind::Tensor;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType: return Kind::Int;
    case c10::TypeKind::FloatType: return Kind::Float;
    case c10::TypeKind::BoolType: return Kind::Bool;
    case c10::TypeKind::NumberType: return Kind::Scalar;
    case c10::TypeKind::StringType: return Kind::String;
    case c10::TypeKind::DeviceObjType: return Kind::Device;
    case c10::TypeKind::GeneratorType: return Kind::Generator;
    case c10::TypeKind::ListType: {
      const auto& elem = t->containedType(0);
      switch (elem->kind()) {
        case c10::TypeKind::IntType:
        case c10::TypeKind::SymIntType: return Kind::IntList;
        case c10::TypeKind::FloatType: return Kind::FloatList;
        case c10::TypeKind::BoolType: return Kind::BoolList;
        case c10::TypeKind::TensorType: return Kind::TensorList;
        case c10::TypeKind::OptionalType:
          if (elem->containedType(0)->kind() == c10::TypeKind::TensorType) return Kind::OptionalTensorList;
          return Kind::Unsupported;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

// Looks an operator up by "ns::name.overload" (or "ns::name" for the default overload); returns its id.
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string full = info[0].As<Napi::String>().Utf8Value();
  std::string name = full, overload;
  auto dot = full.find('.', full.find("::") == std::string::npos ? 0 : full.find("::"));
  if (dot != std::string::npos) {
    name = full.substr(0, dot);
    overload = full.substr(dot + 1);
  }
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle.has_value()) ThrowTorchError(env, "operator not found in this libtorch: " + full);
  OpEntry entry{*handle, {}, full};
  for (const auto& arg : handle->schema().arguments()) {
    ArgSpec spec;
    const c10::TypePtr& type = arg.real_type();
    spec.optional = type->kind() == c10::TypeKind::OptionalType;
    spec.kind = KindOf(spec.optional ? type->containedType(0) : type);
    spec.listSize = arg.N() ? static_cast<int>(*arg.N()) : 0;
    spec.defaultValue = arg.default_value();
    spec.name = arg.name();
    if (spec.kind == Kind::Unsupported && !spec.optional && !spec.defaultValue) {
      ThrowTorchError(env, "operator " + full + ": argument '" + arg.name() + "' has a type the binding does not convert (" + type->str() + ")");
    }
    entry.args.push_back(std::move(spec));
  }
  registry().push_back(std::move(entry));
  return Napi::Number::New(env, static_cast<double>(registry().size() - 1));
}

[[noreturn]] void ArgError(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const std::string& expected) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + spec.name + "' must be " + expected);
}

int64_t ToInt(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d == std::floor(d)) return static_cast<int64_t>(d);
  } else if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  } else if (v.IsBoolean()) {
    return v.As<Napi::Boolean>().Value() ? 1 : 0;
  }
  ArgError(env, op, spec, "an integer");
}

c10::IValue Convert(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  switch (spec.kind) {
    case Kind::Tensor:
      return c10::IValue(UnwrapTensor(env, v, spec.name.c_str()));
    case Kind::Int:
      return c10::IValue(ToInt(env, op, spec, v));
    case Kind::Float:
      if (!v.IsNumber()) ArgError(env, op, spec, "a number");
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case Kind::Bool:
      if (!v.IsBoolean()) ArgError(env, op, spec, "a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case Kind::Scalar:
      // A JS number is an integer Scalar when it holds an integer, as a Python int would be.
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return c10::IValue(static_cast<int64_t>(d));
        return c10::IValue(d);
      }
      if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
      ArgError(env, op, spec, "a number or boolean");
    case Kind::String:
      if (!v.IsString()) ArgError(env, op, spec, "a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case Kind::Device:
      if (!v.IsString()) ArgError(env, op, spec, "a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case Kind::Generator:
      ArgError(env, op, spec, "null (explicit generators are not bound; use manualSeed)");
    case Kind::IntList: {
      if (v.IsNumber() && spec.listSize > 0) {
        return c10::IValue(std::vector<int64_t>(spec.listSize, ToInt(env, op, spec, v)));
      }
      if (!v.IsArray()) ArgError(env, op, spec, "an array of integers");
      Napi::Array a = v.As<Napi::Array>();
      std::vector<int64_t> out(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) out[i] = ToInt(env, op, spec, a.Get(i));
      return c10::IValue(out);
    }
    case Kind::FloatList: {
      if (!v.IsArray()) ArgError(env, op, spec, "an array of numbers");
      Napi::Array a = v.As<Napi::Array>();
      std::vector<double> out(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) out[i] = a.Get(i).ToNumber().DoubleValue();
      return c10::IValue(out);
    }
    case Kind::BoolList: {
      if (!v.IsArray()) ArgError(env, op, spec, "an array of booleans");
      Napi::Array a = v.As<Napi::Array>();
      c10::List<bool> out;
      for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).ToBoolean().Value());
      return c10::IValue(out);
    }
    case Kind::TensorList: {
      if (!v.IsArray()) ArgError(env, op, spec, "an array of Tensors");
      Napi::Array a = v.As<Napi::Array>();
      std::vector<at::Tensor> out;
      out.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(UnwrapTensor(env, a.Get(i), spec.name.c_str()));
      return c10::IValue(out);
    }
    case Kind::OptionalTensorList: {
      if (!v.IsArray()) ArgError(env, op, spec, "an array of Tensors or nulls");
      Napi::Array a = v.As<Napi::Array>();
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value e = a.Get(i);
        if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(UnwrapTensor(env, e, spec.name.c_str()));
      }
      return c10::IValue(out);
    }
    case Kind::Unsupported:
      break;
  }
  ArgError(env, op, spec, "omitted (its type is not bound)");
}

Napi::Value ToJs(Napi::Env env, c10::IValue&& v) {
  if (v.isTensor()) return WrapTensor(env, std::move(v).toTensor());
  if (v.isNone()) return env.Null();
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isTensorList()) {
    auto list = std::move(v).toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) out.Set(static_cast<uint32_t>(i), WrapTensor(env, list.get(i)));
    return out;
  }
  if (v.isTuple()) {
    auto tuple = std::move(v).toTuple();
    const auto& elems = tuple->elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); ++i) out.Set(static_cast<uint32_t>(i), ToJs(env, c10::IValue(elems[i])));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(list[i])));
    return out;
  }
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  ThrowTorchError(env, "operator returned a value of type " + v.tagKind() + " that the binding does not convert");
}

// Runs op `id` on info[first...]; leaves the results on `stack`.
void RunOp(const Napi::CallbackInfo& info, size_t first, torch::jit::Stack& stack, const OpEntry*& opOut) {
  Napi::Env env = info.Env();
  double idD = info[0].As<Napi::Number>().DoubleValue();
  size_t id = static_cast<size_t>(idD);
  if (id >= registry().size()) throw Napi::RangeError::New(env, "unknown operator id");
  const OpEntry& op = registry()[id];
  opOut = &op;
  size_t given = info.Length() - first;
  if (given > op.args.size()) {
    throw Napi::TypeError::New(env, op.name + ": " + std::to_string(given) + " arguments given, at most " + std::to_string(op.args.size()) + " accepted");
  }
  stack.clear();
  stack.reserve(op.args.size());
  for (size_t i = 0; i < op.args.size(); ++i) {
    const ArgSpec& spec = op.args[i];
    Napi::Value v = i < given ? info[first + i] : env.Undefined();
    if (v.IsUndefined() || (v.IsNull() && spec.optional)) {
      if (v.IsUndefined() && spec.defaultValue) stack.push_back(*spec.defaultValue);
      else if (spec.optional) stack.emplace_back();
      else throw Napi::TypeError::New(env, op.name + ": missing argument '" + spec.name + "'");
    } else {
      stack.push_back(Convert(env, op, spec, v));
    }
  }
  ROBUSTA_TRY
  op.handle.callBoxed(&stack);
  ROBUSTA_CATCH(env)
}

thread_local torch::jit::Stack t_stack;

// call(id, ...args): the op's result (a Tensor, a number, an array for several results).
Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpEntry* op = nullptr;
  torch::jit::Stack stack = std::move(t_stack);
  RunOp(info, 1, stack, op);
  Napi::Value result;
  if (stack.empty()) {
    result = env.Undefined();
  } else if (stack.size() == 1) {
    result = ToJs(env, std::move(stack[0]));
  } else {
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); ++i) out.Set(static_cast<uint32_t>(i), ToJs(env, std::move(stack[i])));
    result = out;
  }
  stack.clear();
  t_stack = std::move(stack);
  return result;
}

// callVoid(id, ...args): runs an op for its effect (in-place ops); no wrapper is made for the result.
Napi::Value CallVoid(const Napi::CallbackInfo& info) {
  const OpEntry* op = nullptr;
  torch::jit::Stack stack = std::move(t_stack);
  RunOp(info, 1, stack, op);
  stack.clear();
  t_stack = std::move(stack);
  return info.Env().Undefined();
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t id = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
  if (id >= registry().size()) throw Napi::RangeError::New(env, "unknown operator id");
  std::ostringstream os;
  os << registry()[id].handle.schema();
  return Napi::String::New(env, os.str());
}

}  // namespace

void InitOps(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New<FindOp>(env, "findOp"));
  exports.Set("call", Napi::Function::New<Call>(env, "call"));
  exports.Set("callVoid", Napi::Function::New<CallVoid>(env, "callVoid"));
  exports.Set("opSchema", Napi::Function::New<OpSchema>(env, "opSchema"));
}

}  // namespace robusta
