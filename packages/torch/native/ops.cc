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

// Unboxed fast paths by signature: an operator whose arguments are all Tensors and Scalars (no
// defaults needed, nothing mutated) and that returns one Tensor is called through its typed handle,
// skipping the IValue stack and the boxed kernel wrapper (about a tenth of a tiny op's time).
using SigT = at::Tensor(const at::Tensor&);
using SigTT = at::Tensor(const at::Tensor&, const at::Tensor&);
using SigTS = at::Tensor(const at::Tensor&, const at::Scalar&);
using SigTTS = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Scalar&);
using SigTSS = at::Tensor(const at::Tensor&, const at::Scalar&, const at::Scalar&);
struct FastPath {
  c10::optional<c10::TypedOperatorHandle<SigT>> t;
  c10::optional<c10::TypedOperatorHandle<SigTT>> tt;
  c10::optional<c10::TypedOperatorHandle<SigTS>> ts;
  c10::optional<c10::TypedOperatorHandle<SigTTS>> tts;
  c10::optional<c10::TypedOperatorHandle<SigTSS>> tss;
  bool any() const { return t || tt || ts || tts || tss; }
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::vector<ArgSpec> args;
  std::string name;
  FastPath fast;
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

FastPath FastPathOf(const c10::OperatorHandle& handle, const std::vector<ArgSpec>& args) {
  FastPath fast;
  const c10::FunctionSchema& schema = handle.schema();
  if (schema.is_mutable() || schema.is_vararg() || schema.returns().size() != 1 ||
      schema.returns()[0].type()->kind() != c10::TypeKind::TensorType || args.empty() || args.size() > 3) {
    return fast;
  }
  std::string kinds;
  for (const ArgSpec& a : args) {
    if (a.optional) return fast;
    if (a.kind == Kind::Tensor) kinds += 'T';
    else if (a.kind == Kind::Scalar) kinds += 'S';
    else return fast;
  }
  // typed() checks the C++ signature the kernels were registered with; a mismatch keeps the boxed path.
  try {
    if (kinds == "T") fast.t = handle.typed<SigT>();
    else if (kinds == "TT") fast.tt = handle.typed<SigTT>();
    else if (kinds == "TS") fast.ts = handle.typed<SigTS>();
    else if (kinds == "TTS") fast.tts = handle.typed<SigTTS>();
    else if (kinds == "TSS") fast.tss = handle.typed<SigTSS>();
  } catch (const c10::Error&) {
    return FastPath{};
  }
  return fast;
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
  entry.fast = FastPathOf(*handle, entry.args);
  registry().push_back(std::move(entry));
  return Napi::Number::New(env, static_cast<double>(registry().size() - 1));
}

[[noreturn]] void ArgError(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const std::string& expected) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + spec.name + "' must be " + expected);
}

napi_valuetype TypeOf(Napi::Env env, const Napi::Value& v) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  return type;
}

// A JS number is an integer Scalar when it holds an integer, as a Python int would be.
at::Scalar NumberScalar(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

int64_t ToInt(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v, napi_valuetype type) {
  if (type == napi_number) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d == std::floor(d)) return static_cast<int64_t>(d);
  } else if (type == napi_bigint) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  } else if (type == napi_boolean) {
    return v.As<Napi::Boolean>().Value() ? 1 : 0;
  }
  ArgError(env, op, spec, "an integer");
}

int64_t ToInt(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  return ToInt(env, op, spec, v, TypeOf(env, v));
}

const at::Tensor& ToTensor(Napi::Env env, const ArgSpec& spec, const Napi::Value& v, napi_valuetype type) {
  if (type != napi_number) throw Napi::TypeError::New(env, "expected a Tensor for '" + spec.name + "'");
  return GetTensor(env, v.As<Napi::Number>().DoubleValue());
}

c10::IValue Convert(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v, napi_valuetype type) {
  switch (spec.kind) {
    case Kind::Tensor:
      return c10::IValue(ToTensor(env, spec, v, type));
    case Kind::Int:
      return c10::IValue(ToInt(env, op, spec, v, type));
    case Kind::Float:
      if (type != napi_number) ArgError(env, op, spec, "a number");
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case Kind::Bool:
      if (type != napi_boolean) ArgError(env, op, spec, "a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case Kind::Scalar:
      if (type == napi_number) return c10::IValue(NumberScalar(v.As<Napi::Number>().DoubleValue()));
      if (type == napi_boolean) return c10::IValue(v.As<Napi::Boolean>().Value());
      ArgError(env, op, spec, "a number or boolean");
    case Kind::String:
      if (type != napi_string) ArgError(env, op, spec, "a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case Kind::Device:
      if (type != napi_string) ArgError(env, op, spec, "a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case Kind::Generator:
      ArgError(env, op, spec, "null (explicit generators are not bound; use manualSeed)");
    case Kind::IntList: {
      if (type == napi_number && spec.listSize > 0) {
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

const OpEntry& EntryOf(const Napi::CallbackInfo& info, size_t at = 0) {
  size_t id = static_cast<size_t>(info[at].As<Napi::Number>().DoubleValue());
  if (id >= registry().size()) throw Napi::RangeError::New(info.Env(), "unknown operator id");
  return registry()[id];
}

// Runs op on info[first...]; leaves the results on `stack`.
void RunOp(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, torch::jit::Stack& stack) {
  Napi::Env env = info.Env();
  size_t given = info.Length() - first;
  if (given > op.args.size()) {
    throw Napi::TypeError::New(env, op.name + ": " + std::to_string(given) + " arguments given, at most " + std::to_string(op.args.size()) + " accepted");
  }
  stack.clear();
  stack.reserve(op.args.size());
  for (size_t i = 0; i < op.args.size(); ++i) {
    const ArgSpec& spec = op.args[i];
    Napi::Value v = i < given ? info[first + i] : env.Undefined();
    napi_valuetype type = i < given ? TypeOf(env, v) : napi_undefined;
    if (type == napi_undefined || (type == napi_null && spec.optional)) {
      if (type == napi_undefined && spec.defaultValue) stack.push_back(*spec.defaultValue);
      else if (spec.optional) stack.emplace_back();
      else throw Napi::TypeError::New(env, op.name + ": missing argument '" + spec.name + "'");
    } else {
      stack.push_back(Convert(env, op, spec, v, type));
    }
  }
  ROBUSTA_TRY
  op.handle.callBoxed(&stack);
  ROBUSTA_CATCH(env)
}

// The unboxed fast path (see FastPath): false when the op has none or the arguments need the boxed
// path's conversions or its error messages.
bool CallFast(const Napi::CallbackInfo& info, size_t first, const OpEntry& op, Napi::Value& result) {
  const FastPath& fast = op.fast;
  if (!fast.any() || info.Length() - first != op.args.size()) return false;
  Napi::Env env = info.Env();
  const at::Tensor* tensors[3];
  at::Scalar scalars[3];
  size_t nt = 0, ns = 0;
  for (size_t i = 0; i < op.args.size(); ++i) {
    Napi::Value v = info[first + i];
    napi_valuetype type = TypeOf(env, v);
    if (op.args[i].kind == Kind::Tensor) {
      if (type != napi_number) return false;
      tensors[nt++] = &GetTensor(env, v.As<Napi::Number>().DoubleValue());
    } else if (type == napi_number) {
      scalars[ns++] = NumberScalar(v.As<Napi::Number>().DoubleValue());
    } else if (type == napi_boolean) {
      scalars[ns++] = at::Scalar(v.As<Napi::Boolean>().Value());
    } else {
      return false;
    }
  }
  ROBUSTA_TRY
  at::Tensor out;
  if (fast.t) out = fast.t->call(*tensors[0]);
  else if (fast.tt) out = fast.tt->call(*tensors[0], *tensors[1]);
  else if (fast.ts) out = fast.ts->call(*tensors[0], scalars[0]);
  else if (fast.tts) out = fast.tts->call(*tensors[0], *tensors[1], scalars[0]);
  else out = fast.tss->call(*tensors[0], scalars[0], scalars[1]);
  result = WrapTensor(env, std::move(out));
  ROBUSTA_CATCH(env)
  return true;
}

// One stack reused by every call (the addon runs on the main thread only).
torch::jit::Stack g_stack;
// Operator calls by path since start, for dispatchStats(): tests check the hot ops take the unboxed one.
double g_unboxed_calls = 0;
double g_boxed_calls = 0;

// Runs op on info[first...] and converts its result (a Tensor, a number, an array for several results).
Napi::Value CallFrom(const Napi::CallbackInfo& info, size_t first, const OpEntry& op) {
  Napi::Env env = info.Env();
  Napi::Value result;
  if (CallFast(info, first, op, result)) {
    ++g_unboxed_calls;
    return result;
  }
  ++g_boxed_calls;
  torch::jit::Stack stack = std::move(g_stack);
  RunOp(info, first, op, stack);
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
  g_stack = std::move(stack);
  return result;
}

// call(id, ...args): the op's result.
Napi::Value Call(const Napi::CallbackInfo& info) { return CallFrom(info, 1, EntryOf(info)); }

// callOwned(owner, id, ...args): an op with one Tensor result, whose JS owner is given: the result's
// handle, with the GC safety net armed in the same call (one N-API call instead of call + track).
Napi::Value CallOwned(const Napi::CallbackInfo& info) {
  Napi::Value result = CallFrom(info, 2, EntryOf(info, 1));
  if (result.IsNumber() && info[0].IsObject()) OwnTensor(info.Env(), info[0], result.As<Napi::Number>().DoubleValue());
  return result;
}

// callVoid(id, ...args): runs an op for its effect (in-place ops); no wrapper is made for the result.
Napi::Value CallVoid(const Napi::CallbackInfo& info) {
  const OpEntry& op = EntryOf(info);
  ++g_boxed_calls;
  torch::jit::Stack stack = std::move(g_stack);
  RunOp(info, 1, op, stack);
  stack.clear();
  g_stack = std::move(stack);
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

// dispatchStats(): { unboxed, boxed } operator calls since start.
Napi::Value DispatchStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("unboxed", Napi::Number::New(env, g_unboxed_calls));
  o.Set("boxed", Napi::Number::New(env, g_boxed_calls));
  return o;
}

}  // namespace

void InitOps(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New<FindOp>(env, "findOp"));
  exports.Set("call", Napi::Function::New<Call>(env, "call"));
  exports.Set("callOwned", Napi::Function::New<CallOwned>(env, "callOwned"));
  exports.Set("callVoid", Napi::Function::New<CallVoid>(env, "callVoid"));
  exports.Set("opSchema", Napi::Function::New<OpSchema>(env, "opSchema"));
  exports.Set("dispatchStats", Napi::Function::New<DispatchStats>(env, "dispatchStats"));
}

}  // namespace robusta
