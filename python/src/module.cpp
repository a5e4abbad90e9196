// attnkern's Python module (_attnkern, re-exported by the package attnkern): the C API on NumPy arrays
// and DLPack tensors, taken as they are (arrays.hpp), checked in Python terms before the call, the
// kernel run with the GIL released, a status turned into an exception carrying its message.
#include <attnkern/attnkern.h>

#include <attnkern/bounds.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>


#include <chrono>
#include <algorithm>
#include <cmath>
#include <deque>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"

namespace py = pybind11;
using namespace attnkern_py;
using py::arg;

namespace {

using holder = std::unique_ptr<array>;

// ---- the pointers the last kernel call of this thread received, for the tests' zero-copy checks
thread_local std::vector<std::pair<std::string, std::uintptr_t>> last_pointers;
void note_pointers(std::initializer_list<const array*> arrays) {
  last_pointers.clear();
  for (const array* a : arrays)
    if (a != nullptr) last_pointers.emplace_back(a->name, reinterpret_cast<std::uintptr_t>(a->data));
}

[[noreturn]] void raise_status(attnkern_status status, const std::string& message) {
  const std::string text = message.empty() ? attnkern_status_message(status) : message;
  switch (status) {
    case ATTNKERN_ERROR_OUT_OF_MEMORY: throw std::bad_alloc();
    case ATTNKERN_ERROR_UNSUPPORTED: PyErr_SetString(PyExc_NotImplementedError, text.c_str()); throw py::error_already_set();
    default: throw py::value_error(text);
  }
}

// Runs a C call with the GIL released; a failing status becomes an exception (ValueError, or
// MemoryError for OUT_OF_MEMORY, NotImplementedError for UNSUPPORTED) with the call's message.
template <class Call>
void run(Call&& call) {
  attnkern_status status;
  std::string message;
  {
    py::gil_scoped_release release;
    status = call();
    if (status != ATTNKERN_OK) message = attnkern_last_error_message();
  }
  if (status != ATTNKERN_OK) raise_status(status, message);
}

py::module_& numpy() {
  // never destroyed: a static py::object's destructor would run after the interpreter has finalized
  static py::module_* np = new py::module_(py::module_::import("numpy"));
  return *np;
}

[[noreturn]] void raise_unusable(const unusable& u) {
  if (u.dtype) throw py::type_error(u.message);
  throw py::value_error(u.message);
}

// An argument as it is, checked: `unusable` when its dtype or layout fails the check.
template <class Check>
holder checked(py::handle obj, const char* name, bool writable, Check& check) {
  holder a(new array(obj, name, writable));
  check(*a);
  return a;
}

// Takes an argument as it is, and checks it; with copy=True an argument whose dtype or layout fails
// the check is converted once (np.ascontiguousarray, to float32 if its dtype was the problem).
template <class Check>
holder take(py::handle obj, const char* name, bool copy, Check&& check) {
  try {
    return checked(obj, name, false, check);
  } catch (const unusable& u) {
    if (!copy) raise_unusable(u);
    py::object c = u.dtype ? numpy().attr("ascontiguousarray")(obj, py::arg("dtype") = "float32")
                           : numpy().attr("ascontiguousarray")(obj);
    try {
      return checked(c, name, false, check);
    } catch (const unusable& again) {
      raise_unusable(again);
    }
  }
}

// An out= argument: never converted (the result must land in it).
template <class Check>
holder take_out(py::handle obj, const char* name, Check&& check) {
  try {
    return checked(obj, name, true, check);
  } catch (const unusable& u) {
    raise_unusable(u);
  }
}

// The caller's out= when given, else make() (a new array).
template <class Make>
py::object given_or(py::handle given, Make&& make) {
  return given.is_none() ? py::object(make()) : py::reinterpret_borrow<py::object>(given);
}

// Throws a ValueError naming the argument unless its shape is `dims` (`text`: how to read them).
void expect_dims(const array& a, const std::vector<std::int64_t>& dims, const char* text = nullptr) {
  bool ok = a.ndim == static_cast<int>(dims.size());
  for (int d = 0; ok && d < a.ndim; ++d) ok = a.shape[d] == dims[static_cast<std::size_t>(d)];
  if (!ok)
    throw py::value_error(std::string(a.name) + ": expected shape " + shape_text(dims.data(), static_cast<int>(dims.size())) +
                          (text ? std::string(" ") + text : std::string()) + ", got " + a.shape_string());
}

const auto f32_only = [](const array& a) { a.require_f32(); };
constexpr kind half_types[] = {kind::f32, kind::f16, kind::bf16};
constexpr kind mask_types[] = {kind::boolean, kind::u8, kind::i8};

int32_t dtype_code(kind k) { return k == kind::f16 ? ATTNKERN_F16 : k == kind::bf16 ? ATTNKERN_BF16 : ATTNKERN_F32; }

// A small per-item or per-head vector: lengths and starts (any integer dtype, range-checked into
// int32), or slopes, sinks and head scales (float32; a list or tuple of numbers is converted).
std::vector<int32_t> int_vector(py::handle obj, const char* name, std::int64_t n) {
  py::array a = numpy().attr("asarray")(obj);
  const char k = a.dtype().kind();
  if (k != 'i' && k != 'u')
    throw py::type_error(std::string(name) + ": expected integers, got dtype " + std::string(py::str(a.dtype())));
  if (a.ndim() != 1 || a.shape(0) != n)
    throw py::value_error(std::string(name) + ": expected shape (" + std::to_string(n) + ",), got " +
                          std::string(py::str(a.attr("shape"))));
  auto v = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  std::vector<int32_t> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const int64_t x = v.at(i);
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
      throw py::value_error(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(x) +
                            " does not fit in int32");
    out[static_cast<std::size_t>(i)] = static_cast<int32_t>(x);
  }
  return out;
}

holder float_vector(py::handle obj, const char* name, std::int64_t n, bool copy) {
  py::object o = py::reinterpret_borrow<py::object>(obj);
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) o = numpy().attr("asarray")(obj, "float32");
  return take(o, name, copy, [&](const array& a) {
    a.require_f32();
    expect_dims(a, {n});
    if (n > 1 && a.strides[0] != 1) throw unusable{false, std::string(name) + ": not contiguous"};
  });
}

// ---- elementwise and row-wise functions

void same_layout_out(const array& out, const array& x) {
  out.require_f32();
  bool same = out.ndim == x.ndim;
  for (int d = 0; same && d < x.ndim; ++d) same = out.shape[d] == x.shape[d] && (x.shape[d] <= 1 || out.strides[d] == x.strides[d]);
  if (!same)
    throw py::value_error(std::string("out: expected float32 with x's shape ") + x.shape_string() +
                          " and strides, got shape " + out.shape_string() + " (allocate it with np.empty_like(x))");
}

py::object tanh_(py::handle x_obj, py::handle out_obj, bool copy) {
  holder x = take(x_obj, "x", copy, [](const array& a) {
    a.require_f32();
    if (!a.dense()) throw unusable{false, "x: attnkern takes its elements in one block without gaps; a strided view is not (pass copy=True)"};
  });
  py::object result = given_or(out_obj, [&] { return new_array(x.get(), x->shape.data(), x->ndim, kind::f32, x.get()); });
  holder out = take_out(result, "out", [&](const array& a) { same_layout_out(a, *x); });
  const auto n = static_cast<size_t>(x->size());
  note_pointers({x.get(), out.get()});
  if (n == 0) return result;
  // dense in any axis order, strides not negative: the data pointer is the block's first element
  const float* px = reinterpret_cast<const float*>(x->data);
  float* py_ = reinterpret_cast<float*>(out->data);
  run([&] { return attnkern_tanh_f32(px, py_, n); });
  return result;
}

using rowwise_fn = attnkern_status (*)(const float*, float*, size_t, size_t);

// softmax and log_softmax over `axis`: taken as they are when that axis is contiguous and the other
// axes fill the rest of one block (rows of a row-major matrix in some order); the result has x's
// strides. Otherwise a layout error, or with copy=True one copy with the axis moved last.
py::object rowwise(rowwise_fn fn, py::handle x_obj, int axis, py::handle out_obj, bool copy) {
  holder x = take(x_obj, "x", copy, f32_only);
  if (x->ndim == 0) throw py::value_error("x: expected at least one dimension, got a scalar");
  const int a = axis < 0 ? axis + x->ndim : axis;
  if (a < 0 || a >= x->ndim)
    throw py::value_error("axis " + std::to_string(axis) + " is out of range for x with " + std::to_string(x->ndim) + " dimensions");
  const bool usable = x->dense() && (x->shape[a] <= 1 || x->strides[a] == 1);
  if (!usable) {
    if (!copy)
      throw py::value_error("x: softmax along axis " + std::to_string(axis) +
                            " needs that axis contiguous and the array in one block; this view is not (pass copy=True "
                            "for one copy, or np.ascontiguousarray(np.moveaxis(x, axis, -1)))");
    py::object moved = numpy().attr("ascontiguousarray")(numpy().attr("moveaxis")(x->object, a, -1));
    py::object y = rowwise(fn, moved, -1, py::none(), false);
    py::object back = numpy().attr("moveaxis")(y, -1, a);
    if (out_obj.is_none()) return back;
    holder out = take_out(out_obj, "out", [&](const array& o) { same_layout_out(o, *x); });
    numpy().attr("copyto")(out_obj, back);
    return py::reinterpret_borrow<py::object>(out_obj);
  }
  py::object result = given_or(out_obj, [&] { return new_array(x.get(), x->shape.data(), x->ndim, kind::f32, x.get()); });
  holder out = take_out(result, "out", [&](const array& o) { same_layout_out(o, *x); });
  const auto cols = static_cast<size_t>(x->shape[a]);
  const auto rows = cols == 0 ? 0 : static_cast<size_t>(x->size()) / cols;
  note_pointers({x.get(), out.get()});
  if (rows == 0 || cols == 0) return result;
  const float* px = reinterpret_cast<const float*>(x->data);
  float* po = reinterpret_cast<float*>(out->data);
  run([&] { return fn(px, po, rows, cols); });
  return result;
}

// ---- the fused kernels: [batch,] steps, features

struct fused_shape {
  bool batched;
  std::int64_t batch, steps, features;
};

fused_shape sequence_shape(const array& a) {
  a.require_ndim(2, 3, "(steps, features) or (batch, steps, features)");
  if (a.ndim == 2) return {false, 1, a.shape[0], a.shape[1]};
  return {true, a.shape[0], a.shape[1], a.shape[2]};
}

const auto f32_c = [](const array& a) {
  a.require_f32();
  a.require_c_contiguous();
};

// An argument with one row per batch item: (batch, n), or (n,) for one sequence.
std::vector<std::int64_t> per_item(const fused_shape& s, std::int64_t n) {
  return s.batched ? std::vector<std::int64_t>{s.batch, n} : std::vector<std::int64_t>{n};
}

// context (and weights) outputs of the fused kernels: [batch,] features and [batch,] steps
struct fused_outputs {
  py::object context, weights;
  holder context_arr, weights_arr;
};

fused_outputs fused_out(const fused_shape& s, const array& like, py::handle out_obj, bool want_weights) {
  fused_outputs o;
  std::int64_t cdims[2] = {s.batch, s.features}, wdims[2] = {s.batch, s.steps};
  const int nd = s.batched ? 2 : 1;
  o.context = given_or(out_obj, [&] { return new_array(&like, cdims + (2 - nd), nd, kind::f32); });
  o.context_arr = take_out(o.context, "out", [&](const array& a) {
    a.require_f32();
    expect_dims(a, per_item(s, s.features));
    a.require_c_contiguous();
  });
  if (want_weights) {
    o.weights = new_array(&like, wdims + (2 - nd), nd, kind::f32);
    o.weights_arr = take_out(o.weights, "weights", f32_only);
  }
  return o;
}

std::vector<int32_t> lengths_of(py::handle lengths, const fused_shape& s) {
  if (lengths.is_none()) return {};
  if (!s.batched) {
    // one sequence: a single length, as a number or a 1-element vector
    if (py::isinstance<py::int_>(lengths)) return int_vector(py::make_tuple(lengths), "lengths", 1);
    return int_vector(lengths, "lengths", 1);
  }
  return int_vector(lengths, "lengths", s.batch);
}

py::object fused_result(fused_outputs& o, bool want_weights) {
  if (want_weights) return py::make_tuple(o.context, o.weights);
  return o.context;
}

py::object attention_pool(py::handle h_obj, py::handle w_obj, py::handle bias_obj, py::handle lengths,
                          bool return_weights, py::handle out_obj, bool copy) {
  holder h = take(h_obj, "h", copy, f32_c);
  const fused_shape s = sequence_shape(*h);
  holder w = take(w_obj, "w", copy, f32_c);
  expect_dims(*w, {s.features});
  holder bias;
  if (!bias_obj.is_none()) {
    bias = take(bias_obj, "bias", copy, f32_c);
    expect_dims(*bias, {s.steps});
  }
  const std::vector<int32_t> lens = lengths_of(lengths, s);
  fused_outputs o = fused_out(s, *h, out_obj, return_weights);
  note_pointers({h.get(), w.get(), bias.get(), o.context_arr.get()});
  const float* ph = reinterpret_cast<const float*>(h->data);
  const float* pw = reinterpret_cast<const float*>(w->data);
  const float* pb = bias ? reinterpret_cast<const float*>(bias->data) : nullptr;
  float* pc = reinterpret_cast<float*>(o.context_arr->data);
  float* pwt = return_weights ? reinterpret_cast<float*>(o.weights_arr->data) : nullptr;
  run([&] {
    return attnkern_attention_pool_f32(ph, pw, pb, lens.empty() ? nullptr : lens.data(), static_cast<size_t>(s.batch),
                                       static_cast<size_t>(s.steps), static_cast<size_t>(s.features), pc, pwt);
  });
  return fused_result(o, return_weights);
}

py::object additive_attention(py::handle keys_obj, py::handle query_obj, py::handle v_obj, py::handle values_obj,
                              py::handle lengths, bool return_weights, py::handle out_obj, bool copy) {
  holder keys = take(keys_obj, "keys", copy, f32_c);
  const fused_shape ks = sequence_shape(*keys);
  holder values = take(values_obj, "values", copy, f32_c);
  const fused_shape s = sequence_shape(*values);
  if (s.batched != ks.batched || s.batch != ks.batch || s.steps != ks.steps)
    throw py::value_error("values: expected its " + std::string(ks.batched ? "batch and " : "") +
                          "steps to match keys " + keys->shape_string() + ", got shape " + values->shape_string());
  holder query = take(query_obj, "query", copy, f32_c);
  expect_dims(*query, per_item(ks, ks.features));
  holder v = take(v_obj, "v", copy, f32_c);
  expect_dims(*v, {ks.features});
  const std::vector<int32_t> lens = lengths_of(lengths, s);
  fused_outputs o = fused_out(s, *values, out_obj, return_weights);
  note_pointers({keys.get(), query.get(), v.get(), values.get(), o.context_arr.get()});
  const float* pk = reinterpret_cast<const float*>(keys->data);
  const float* pq = reinterpret_cast<const float*>(query->data);
  const float* pv = reinterpret_cast<const float*>(v->data);
  const float* pval = reinterpret_cast<const float*>(values->data);
  float* pc = reinterpret_cast<float*>(o.context_arr->data);
  float* pwt = return_weights ? reinterpret_cast<float*>(o.weights_arr->data) : nullptr;
  run([&] {
    return attnkern_additive_attention_f32(pk, pq, pv, pval, lens.empty() ? nullptr : lens.data(),
                                           static_cast<size_t>(s.batch), static_cast<size_t>(s.steps),
                                           static_cast<size_t>(ks.features), static_cast<size_t>(s.features), pc, pwt);
  });
  return fused_result(o, return_weights);
}

// ---- attention on the caller's tensors

enum class layout { bhsd, bshd };

layout layout_of(const std::string& name) {
  std::string u;
  for (char c : name) u += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (u == "BHSD") return layout::bhsd;
  if (u == "BSHD") return layout::bshd;
  throw py::value_error("layout: expected \"BHSD\" or \"BSHD\", got \"" + name + "\"");
}

// A tensor seen as [batch, heads, seq, dim] (the axes a 3-D or 2-D argument lacks have extent 1).
struct bhsd {
  std::int64_t n[4] = {1, 1, 1, 1};
  std::int64_t stride[4] = {0, 0, 0, 1};
};

// Which axis of an `ndim`-dimensional argument (2 to 4) holds batch, heads, seq, dim (-1: none).
void axes_of(layout l, int ndim, int axes[4]) {
  static const int table[3][2][4] = {{{-1, -1, 0, 1}, {-1, -1, 0, 1}},  // (seq, dim)
                                     {{-1, 0, 1, 2}, {-1, 1, 0, 2}},    // (heads, seq, dim), (seq, heads, dim)
                                     {{0, 1, 2, 3}, {0, 2, 1, 3}}};     // BHSD, BSHD
  const int* t = table[ndim - 2][l == layout::bshd ? 1 : 0];
  std::copy(t, t + 4, axes);
}

bhsd view_of(const array& a, layout l) {
  int axes[4];
  axes_of(l, a.ndim, axes);
  bhsd t;
  for (int i = 0; i < 4; ++i)
    if (axes[i] >= 0) {
      t.n[i] = a.shape[axes[i]];
      t.stride[i] = a.shape[axes[i]] > 1 ? a.strides[axes[i]] : 0;
    }
  return t;
}

const char* layout_text(layout l, int ndim) {
  if (ndim == 2) return "(seq, dim)";
  if (ndim == 3) return l == layout::bhsd ? "(heads, seq, dim)" : "(seq, heads, dim)";
  return l == layout::bhsd ? "(batch, heads, seq, dim)" : "(batch, seq, heads, dim)";
}

// An array's shape for [batch, heads, seq, dim] = n in layout l with `ndim` axes.
std::vector<std::int64_t> shape_in(layout l, int ndim, const std::int64_t n[4]) {
  int axes[4];
  axes_of(l, ndim, axes);
  std::vector<std::int64_t> shape(static_cast<std::size_t>(ndim));
  for (int i = 0; i < 4; ++i)
    if (axes[i] >= 0) shape[static_cast<std::size_t>(axes[i])] = n[i];
  return shape;
}

const auto last_axis_contiguous = [](const array& a) {
  if (a.ndim > 0 && a.shape[a.ndim - 1] > 1 && a.strides[a.ndim - 1] != 1)
    throw unusable{false, std::string(a.name) + ": its last axis (dim) must be contiguous; pass copy=True"};
};

attnkern_strides strides_of(const bhsd& t) { return attnkern_strides{t.stride[0], t.stride[1], t.stride[2]}; }

// lse: [batch, heads, seq] with the axes q lacks dropped
std::vector<std::int64_t> lse_shape(int q_ndim, const std::int64_t n[4]) {
  if (q_ndim == 4) return {n[0], n[1], n[2]};
  if (q_ndim == 3) return {n[1], n[2]};
  return {n[2]};
}

bhsd lse_view(const array& a, int q_ndim) {
  bhsd t;
  const int first = 4 - q_ndim;  // 0: batch, 1: heads, 2: seq present
  for (int d = 0; d < a.ndim; ++d) {
    t.n[first + d] = a.shape[d];
    t.stride[first + d] = a.shape[d] > 1 ? a.strides[d] : 0;
  }
  return t;
}

// mask and bias: broadcast (NumPy's rules, from the right) to the scores [batch, heads, q_len, kv_len]
// with the axes q lacks dropped; the key axis contiguous.
bhsd broadcast_scores(const array& a, int q_ndim, const std::int64_t scores[4]) {
  const int first = 4 - q_ndim;
  const int target_dims = 4 - first;
  if (a.ndim < 1 || a.ndim > target_dims)
    throw py::value_error(std::string(a.name) + ": expected at most " + std::to_string(target_dims) +
                          " dimensions broadcastable to the scores, got shape " + a.shape_string());
  bhsd t;
  for (int i = 0; i < 4; ++i) t.n[i] = scores[i];
  for (int i = 0; i < 4; ++i) t.stride[i] = 0;
  for (int d = 0; d < a.ndim; ++d) {
    const int i = 4 - a.ndim + d;
    if (a.shape[d] == scores[i]) {
      t.stride[i] = scores[i] > 1 ? a.strides[d] : 0;
    } else if (a.shape[d] != 1) {
      throw py::value_error(std::string(a.name) + ": shape " + a.shape_string() + " does not broadcast to the scores (" +
                            std::to_string(scores[0]) + ", " + std::to_string(scores[1]) + ", " + std::to_string(scores[2]) +
                            ", " + std::to_string(scores[3]) + ") [batch, heads, q_len, kv_len]");
    }
  }
  if (scores[3] > 1 && t.stride[3] != 1)
    throw unusable{false, std::string(a.name) + ": its key axis (the last) must be contiguous, not broadcast or strided"};
  return t;
}

// ---- the score options attention and paged_attention share (their C structs have the same fields)

// scale: None leaves 0 (the C API's 1/sqrt(head_dim)); else finite and nonzero.
template <class Args>
void set_scale(Args& args, py::handle scale) {
  if (scale.is_none()) return;
  const double s = py::cast<double>(scale);
  if (!std::isfinite(s) || s == 0.0) throw py::value_error("scale: expected a finite nonzero number (None: 1/sqrt(head_dim))");
  args.scale = static_cast<float>(s);
}

// window=(left, right): each an int >= 0, or None for `unbounded` (a side wider than every distance).
template <class Args>
void set_window(Args& args, py::handle window, std::int64_t unbounded) {
  if (window.is_none()) return;
  const py::tuple w = py::cast<py::tuple>(window);
  if (w.size() != 2) throw py::value_error("window: expected (left, right), each an int >= 0 or None");
  args.window = 1;
  const std::int64_t left = w[0].is_none() ? unbounded : py::cast<std::int64_t>(w[0]);
  const std::int64_t right = w[1].is_none() ? unbounded : py::cast<std::int64_t>(w[1]);
  if (left < 0 || right < 0) throw py::value_error("window: left and right must be >= 0 (None: unbounded)");
  args.window_left = left;
  args.window_right = right;
}

// alibi_slopes and sinks ((heads,) float32, kept alive by the result) and the softcap.
struct score_vectors {
  holder slopes, sinks;
};
template <class Args>
score_vectors set_score_vectors(Args& args, py::handle slopes_obj, py::handle sinks_obj, float softcap, std::int64_t heads,
                                bool copy) {
  score_vectors v;
  if (!slopes_obj.is_none()) {
    v.slopes = float_vector(slopes_obj, "alibi_slopes", heads, copy);
    args.alibi_slopes = reinterpret_cast<const float*>(v.slopes->data);
  }
  if (!sinks_obj.is_none()) {
    v.sinks = float_vector(sinks_obj, "sinks", heads, copy);
    args.sinks = reinterpret_cast<const float*>(v.sinks->data);
  }
  if (!(softcap >= 0.0f) || !std::isfinite(softcap)) throw py::value_error("softcap: expected a finite number >= 0 (0: none)");
  args.softcap = softcap;
  return v;
}

py::object attention_(py::handle q_obj, py::handle k_obj, py::handle v_obj, const std::string& layout_name,
                     py::handle scale, bool causal, const std::string& align, py::handle window, py::handle kv_starts,
                     py::handle kv_lengths, py::handle mask_obj, py::handle bias_obj, py::handle head_scales_obj,
                     py::handle slopes_obj, float softcap, py::handle sinks_obj, bool return_lse, py::handle out_obj,
                     py::handle out_dtype, bool copy) {
  const layout l = layout_of(layout_name);
  const auto tensor = [&](const array& a) {
    a.require_type(half_types, 3);
    last_axis_contiguous(a);
  };
  holder q = take(q_obj, "q", copy, tensor);
  q->require_ndim(2, 4, layout_text(l, 4));
  holder k = take(k_obj, "k", copy, tensor);
  holder v = take(v_obj, "v", copy, tensor);
  for (const array* a : {k.get(), v.get()})
    if (a->ndim != q->ndim)
      throw py::value_error(std::string(a->name) + ": expected " + std::to_string(q->ndim) + " dimensions like q " +
                            layout_text(l, q->ndim) + ", got shape " + a->shape_string());
  const bhsd tq = view_of(*q, l), tk = view_of(*k, l), tv = view_of(*v, l);
  const auto mismatch = [&](const array& a, const char* what, std::int64_t got, std::int64_t want, const char* of) {
    throw py::value_error(std::string(a.name) + ": its " + what + " is " + std::to_string(got) + ", expected " +
                          std::to_string(want) + " (" + of + "); shape " + a.shape_string() + " read as " +
                          layout_text(l, a.ndim));
  };
  if (tk.n[0] != tq.n[0]) mismatch(*k, "batch", tk.n[0], tq.n[0], "q's batch");
  if (tv.n[0] != tq.n[0]) mismatch(*v, "batch", tv.n[0], tq.n[0], "q's batch");
  if (tk.n[3] != tq.n[3]) mismatch(*k, "head_dim", tk.n[3], tq.n[3], "q's head_dim");
  if (tv.n[1] != tk.n[1]) mismatch(*v, "number of heads", tv.n[1], tk.n[1], "k's");
  if (tv.n[2] != tk.n[2]) mismatch(*v, "kv_len", tv.n[2], tk.n[2], "k's");
  if (tk.n[1] == 0 || tq.n[1] % tk.n[1] != 0)
    throw py::value_error("k: its " + std::to_string(tk.n[1]) + " heads do not divide q's " + std::to_string(tq.n[1]) +
                          " (grouped-query heads need q_heads a multiple of kv_heads); shape " + k->shape_string() +
                          " read as " + layout_text(l, k->ndim));
  const std::int64_t batch = tq.n[0], q_heads = tq.n[1], kv_heads = tk.n[1], q_len = tq.n[2], kv_len = tk.n[2];
  const std::int64_t head_dim = tq.n[3], value_dim = tv.n[3];

  attnkern_attention_args args;
  attnkern_attention_args_init(&args);
  args.batch = static_cast<size_t>(batch);
  args.q_heads = static_cast<size_t>(q_heads);
  args.kv_heads = static_cast<size_t>(kv_heads);
  args.q_len = static_cast<size_t>(q_len);
  args.kv_len = static_cast<size_t>(kv_len);
  args.head_dim = static_cast<size_t>(head_dim);
  args.value_dim = static_cast<size_t>(value_dim);
  args.q = q->data;
  args.k = k->data;
  args.v = v->data;
  args.q_strides = strides_of(tq);
  args.k_strides = strides_of(tk);
  args.v_strides = strides_of(tv);
  args.q_dtype = dtype_code(q->type);
  args.k_dtype = dtype_code(k->type);
  args.v_dtype = dtype_code(v->type);

  // out: given, or new in q's layout and dtype (out_dtype to choose another)
  const std::int64_t out_n[4] = {batch, q_heads, q_len, value_dim};
  const std::vector<std::int64_t> out_dims = shape_in(l, q->ndim, out_n);
  py::object out_result = given_or(out_obj, [&] {
    kind type = q->type;
    if (!out_dtype.is_none()) {
      std::string name = py::str(out_dtype);  // "float16", np.float16, torch.float16
      if (name.rfind("torch.", 0) == 0) name = name.substr(6);
      else if (!py::isinstance<py::str>(out_dtype)) name = py::str(numpy().attr("dtype")(out_dtype).attr("name"));
      type = name == "float16" ? kind::f16 : name == "bfloat16" ? kind::bf16 : name == "float32" ? kind::f32 : kind::other;
      if (type == kind::other) throw py::type_error("out_dtype: expected float32, float16 or bfloat16, got " + name);
    }
    return new_array(q.get(), out_dims.data(), q->ndim, type);
  });
  holder out = take_out(out_result, "out", [&](const array& a) {
    a.require_type(half_types, 3);
    expect_dims(a, out_dims, layout_text(l, q->ndim));
    last_axis_contiguous(a);
  });
  const bhsd to = view_of(*out, l);
  args.out = out->data;
  args.out_strides = strides_of(to);
  args.out_dtype = dtype_code(out->type);

  py::object lse_result;
  holder lse;
  if (return_lse) {
    const std::vector<std::int64_t> dims = lse_shape(q->ndim, out_n);
    lse_result = new_array(q.get(), dims.data(), static_cast<int>(dims.size()), kind::f32);
    lse = take_out(lse_result, "lse", f32_only);
    const bhsd tl = lse_view(*lse, q->ndim);
    args.lse = reinterpret_cast<float*>(lse->data);
    args.lse_strides = strides_of(tl);
  }

  set_scale(args, scale);
  args.causal = causal ? 1 : 0;
  if (align == "top_left") args.align = ATTNKERN_ALIGN_TOP_LEFT;
  else if (align == "bottom_right") args.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
  else throw py::value_error("align: expected \"top_left\" or \"bottom_right\", got \"" + align + "\"");
  set_window(args, window, q_len + kv_len + 1);
  std::vector<int32_t> starts, lengths;
  if (!kv_starts.is_none()) {
    starts = int_vector(kv_starts, "kv_starts", batch);
    args.kv_starts = starts.data();
  }
  if (!kv_lengths.is_none()) {
    lengths = int_vector(kv_lengths, "kv_lengths", batch);
    args.kv_lengths = lengths.data();
  }
  const std::int64_t scores[4] = {batch, q_heads, q_len, kv_len};
  holder mask, bias, head_scales;
  if (!mask_obj.is_none()) {
    bhsd seen;  // the view the check made, of the array taken (converted or not)
    mask = take(mask_obj, "mask", copy, [&](const array& a) {
      a.require_type(mask_types, 3);
      seen = broadcast_scores(a, q->ndim, scores);
    });
    args.mask = reinterpret_cast<const uint8_t*>(mask->data);
    args.mask_strides = strides_of(seen);
  }
  if (!bias_obj.is_none()) {
    bhsd seen;
    bias = take(bias_obj, "bias", copy, [&](const array& a) {
      a.require_type(half_types, 3);
      seen = broadcast_scores(a, q->ndim, scores);
    });
    args.bias = bias->data;
    args.bias_strides = strides_of(seen);
    args.bias_dtype = dtype_code(bias->type);
  }
  if (!head_scales_obj.is_none()) {
    if (bias_obj.is_none()) throw py::value_error("bias_head_scales: scales a bias; none was given");
    head_scales = float_vector(head_scales_obj, "bias_head_scales", q_heads, copy);
    args.bias_head_scales = reinterpret_cast<const float*>(head_scales->data);
  }
  const score_vectors vectors = set_score_vectors(args, slopes_obj, sinks_obj, softcap, q_heads, copy);
  note_pointers({q.get(), k.get(), v.get(), out.get(), mask.get(), bias.get()});
  run([&] { return attnkern_attention(&args); });
  if (return_lse) return py::make_tuple(out_result, lse_result);
  return out_result;
}

// ---- the paged K/V cache: its pools are two arrays [num_blocks, kv_heads, block_tokens, dim] (float32,
// float16 or bfloat16) whose blocks each hold their rows contiguously (the array C-contiguous, or a
// view with a larger block stride)

struct cache_arrays {
  holder k, v;
  attnkern_kv_cache cache;
};

cache_arrays cache_of(py::handle k_obj, py::handle v_obj) {
  cache_arrays c;
  const auto pool = [](const array& a) {
    a.require_type(half_types, 3);
    a.require_ndim(4, 4, "(num_blocks, kv_heads, block_tokens, dim)");
    const std::int64_t inner = a.shape[1] * a.shape[2] * a.shape[3];
    if (a.strides[3] != 1 || a.strides[2] != a.shape[3] || a.strides[1] != a.shape[2] * a.shape[3] ||
        (a.shape[0] > 1 && a.strides[0] < inner))
      throw py::value_error(std::string(a.name) + ": each block's (kv_heads, block_tokens, dim) must be C-contiguous and "
                            "blocks may not overlap; shape " + a.shape_string());
  };
  c.k = take_out(k_obj, "k_blocks", pool);
  c.v = take_out(v_obj, "v_blocks", pool);
  const array &k = *c.k, &v = *c.v;
  if (v.shape[0] != k.shape[0] || v.shape[1] != k.shape[1] || v.shape[2] != k.shape[2])
    throw py::value_error("v_blocks: expected (num_blocks, kv_heads, block_tokens) = " + shape_text(k.shape.data(), 3) +
                          " like k_blocks, got shape " + v.shape_string());
  const auto element = [](const array& a) -> std::int64_t { return a.type == kind::f32 ? 4 : 2; };
  attnkern_kv_cache_init(&c.cache);
  c.cache.num_blocks = static_cast<size_t>(k.shape[0]);
  c.cache.kv_heads = static_cast<size_t>(k.shape[1]);
  c.cache.block_tokens = static_cast<size_t>(k.shape[2]);
  c.cache.head_dim = static_cast<size_t>(k.shape[3]);
  c.cache.value_dim = static_cast<size_t>(v.shape[3]);
  c.cache.k_dtype = dtype_code(k.type);
  c.cache.v_dtype = dtype_code(v.type);
  c.cache.k_blocks = k.data;
  c.cache.v_blocks = v.data;
  c.cache.k_block_bytes = static_cast<size_t>((k.shape[0] > 1 ? k.strides[0] : k.shape[1] * k.shape[2] * k.shape[3]) * element(k));
  c.cache.v_block_bytes = static_cast<size_t>((v.shape[0] > 1 ? v.strides[0] : v.shape[1] * v.shape[2] * v.shape[3]) * element(v));
  return c;
}

// An integer array as a C-contiguous int32 or int64 NumPy array of the given dimensions (range-checked).
template <class T>
py::array_t<T> int_array(py::handle obj, const char* name, int ndim) {
  py::array a = numpy().attr("asarray")(obj);
  const char k = a.dtype().kind();
  if (k != 'i' && k != 'u')
    throw py::type_error(std::string(name) + ": expected integers, got dtype " + std::string(py::str(a.dtype())));
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dimension" + (ndim > 1 ? "s" : "") +
                          ", got shape " + std::string(py::str(a.attr("shape"))));
  auto wide = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  const int64_t* w = wide.data();
  for (py::ssize_t i = 0; i < wide.size(); ++i)
    if (w[i] < std::numeric_limits<T>::min() || w[i] > std::numeric_limits<T>::max())
      throw py::value_error(std::string(name) + ": the value " + std::to_string(w[i]) + " does not fit in int" +
                            std::to_string(8 * sizeof(T)));
  return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(wide);
}

void kv_append_(py::handle k_blocks, py::handle v_blocks, py::handle k_obj, py::handle v_obj, py::handle slots_obj) {
  cache_arrays c = cache_of(k_blocks, v_blocks);
  const auto rows = [](const array& a) {
    a.require_type(half_types, 3);
    last_axis_contiguous(a);
  };
  holder k = take(k_obj, "k", false, rows), v = take(v_obj, "v", false, rows);
  py::array_t<int64_t> slots = int_array<int64_t>(slots_obj, "slots", 1);
  const std::int64_t tokens = slots.shape(0);
  expect_dims(*k, {tokens, static_cast<std::int64_t>(c.cache.kv_heads), static_cast<std::int64_t>(c.cache.head_dim)},
              "(tokens, kv_heads, head_dim)");
  expect_dims(*v, {tokens, static_cast<std::int64_t>(c.cache.kv_heads), static_cast<std::int64_t>(c.cache.value_dim)},
              "(tokens, kv_heads, value_dim)");
  attnkern_kv_append_args a{};
  a.struct_size = sizeof a;
  a.cache = &c.cache;
  a.tokens = static_cast<size_t>(tokens);
  a.slots = slots.data();
  a.k = k->data, a.k_dtype = dtype_code(k->type), a.k_token_stride = k->strides[0], a.k_head_stride = k->strides[1];
  a.v = v->data, a.v_dtype = dtype_code(v->type), a.v_token_stride = v->strides[0], a.v_head_stride = v->strides[1];
  note_pointers({c.k.get(), c.v.get(), k.get(), v.get()});
  run([&] { return attnkern_kv_append(&a); });
}

py::object paged_attention_(py::handle q_obj, py::handle k_blocks, py::handle v_blocks, py::handle cu_q_obj,
                            py::handle kv_lens_obj, py::handle tables_obj, py::handle scale, bool causal, py::handle window,
                            py::handle slopes_obj, float softcap, py::handle sinks_obj, bool return_lse, py::handle out_obj) {
  cache_arrays c = cache_of(k_blocks, v_blocks);
  holder q = take(q_obj, "q", false, [](const array& a) {
    a.require_type(half_types, 3);
    a.require_ndim(3, 3, "(rows, q_heads, head_dim)");
    last_axis_contiguous(a);
  });
  if (q->shape[2] != static_cast<std::int64_t>(c.cache.head_dim))
    throw py::value_error("q: its head_dim is " + std::to_string(q->shape[2]) + ", the cache's " +
                          std::to_string(c.cache.head_dim) + "; shape " + q->shape_string());
  const std::int64_t rows = q->shape[0], q_heads = q->shape[1];
  py::array_t<int32_t> cu_q = int_array<int32_t>(cu_q_obj, "cu_q", 1);
  const std::int64_t seqs = cu_q.shape(0) - 1;
  if (seqs < 0) throw py::value_error("cu_q: expected num_seqs + 1 entries, got none");
  if (cu_q.at(seqs) != rows)
    throw py::value_error("cu_q: its last entry is " + std::to_string(cu_q.at(seqs)) + ", q has " + std::to_string(rows) + " rows");
  std::vector<int32_t> kv_lens = int_vector(kv_lens_obj, "kv_lens", seqs);
  py::array_t<int32_t> tables = int_array<int32_t>(tables_obj, "block_tables", 2);
  if (tables.shape(0) != seqs)
    throw py::value_error("block_tables: expected " + std::to_string(seqs) + " rows (one per sequence), got " +
                          std::to_string(tables.shape(0)));
  const std::int64_t out_dims[3] = {rows, q_heads, static_cast<std::int64_t>(c.cache.value_dim)};
  py::object out_result = given_or(out_obj, [&] { return new_array(q.get(), out_dims, 3, kind::f32); });
  holder out = take_out(out_result, "out", [&](const array& a) {
    a.require_type(half_types, 3);
    expect_dims(a, {out_dims[0], out_dims[1], out_dims[2]}, "(rows, q_heads, value_dim)");
    last_axis_contiguous(a);
  });
  attnkern_paged_attention_args args;
  attnkern_paged_attention_args_init(&args);
  args.cache = &c.cache;
  args.num_seqs = static_cast<size_t>(seqs);
  args.q_heads = static_cast<size_t>(q_heads);
  args.cu_q = cu_q.data();
  args.kv_lens = kv_lens.data();
  args.block_tables = tables.data();
  args.block_table_stride = static_cast<size_t>(tables.shape(1));
  args.q = q->data, args.q_dtype = dtype_code(q->type), args.q_row_stride = q->strides[0], args.q_head_stride = q->strides[1];
  args.out = out->data, args.out_dtype = dtype_code(out->type);
  args.out_row_stride = out->strides[0], args.out_head_stride = out->strides[1];
  py::object lse_result;
  holder lse;
  if (return_lse) {
    const std::int64_t dims[2] = {rows, q_heads};
    lse_result = new_array(q.get(), dims, 2, kind::f32);
    lse = take_out(lse_result, "lse", f32_only);
    args.lse = reinterpret_cast<float*>(lse->data), args.lse_row_stride = lse->strides[0], args.lse_head_stride = lse->strides[1];
  }
  set_scale(args, scale);
  args.causal = causal ? 1 : 0;
  set_window(args, window, std::numeric_limits<std::int32_t>::max());
  const score_vectors vectors = set_score_vectors(args, slopes_obj, sinks_obj, softcap, q_heads, false);
  note_pointers({q.get(), c.k.get(), c.v.get(), out.get()});
  run([&] { return attnkern_paged_attention(&args); });
  if (return_lse) return py::make_tuple(out_result, lse_result);
  return out_result;
}

py::object attention_merge(py::handle out_a_obj, py::handle lse_a_obj, py::handle out_b_obj, py::handle lse_b_obj,
                           const std::string& layout_name, py::handle out_obj, py::handle lse_obj, bool copy) {
  const layout l = layout_of(layout_name);
  const auto tensor = [](const array& a) {
    a.require_f32();
    last_axis_contiguous(a);
  };
  holder out_a = take(out_a_obj, "out_a", copy, tensor);
  out_a->require_ndim(2, 4, layout_text(l, 4));
  const bhsd ta = view_of(*out_a, l);
  const std::int64_t n[4] = {ta.n[0], ta.n[1], ta.n[2], ta.n[3]};
  const std::vector<std::int64_t> out_dims = shape_in(l, out_a->ndim, n), lse_dims = lse_shape(out_a->ndim, n);
  const char* text = layout_text(l, out_a->ndim);
  holder out_b = take(out_b_obj, "out_b", copy, tensor);
  expect_dims(*out_b, out_dims, text);
  const auto lse_check = [&](const array& a) {
    a.require_f32();
    expect_dims(a, lse_dims, "(the rows of out_a)");
  };
  holder lse_a = take(lse_a_obj, "lse_a", copy, lse_check);
  holder lse_b = take(lse_b_obj, "lse_b", copy, lse_check);
  py::object out_result = given_or(out_obj, [&] { return new_array(out_a.get(), out_dims.data(), out_a->ndim, kind::f32); });
  holder out = take_out(out_result, "out", [&](const array& a) {
    tensor(a);
    expect_dims(a, out_dims, text);
  });
  py::object lse_result =
      given_or(lse_obj, [&] { return new_array(out_a.get(), lse_dims.data(), static_cast<int>(lse_dims.size()), kind::f32); });
  holder lse = take_out(lse_result, "lse", lse_check);
  attnkern_merge_args args{};
  args.struct_size = sizeof args;
  args.batch = static_cast<size_t>(n[0]);
  args.heads = static_cast<size_t>(n[1]);
  args.rows = static_cast<size_t>(n[2]);
  args.value_dim = static_cast<size_t>(n[3]);
  args.out_a = reinterpret_cast<const float*>(out_a->data);
  args.out_a_strides = strides_of(ta);
  args.out_b = reinterpret_cast<const float*>(out_b->data);
  args.out_b_strides = strides_of(view_of(*out_b, l));
  args.lse_a = reinterpret_cast<const float*>(lse_a->data);
  args.lse_a_strides = strides_of(lse_view(*lse_a, out_a->ndim));
  args.lse_b = reinterpret_cast<const float*>(lse_b->data);
  args.lse_b_strides = strides_of(lse_view(*lse_b, out_a->ndim));
  args.out = reinterpret_cast<float*>(out->data);
  args.out_strides = strides_of(view_of(*out, l));
  args.lse = reinterpret_cast<float*>(lse->data);
  args.lse_strides = strides_of(lse_view(*lse, out_a->ndim));
  note_pointers({out_a.get(), lse_a.get(), out_b.get(), lse_b.get(), out.get(), lse.get()});
  run([&] { return attnkern_attention_merge(&args); });
  return py::make_tuple(out_result, lse_result);
}

// ---- threads: the library's threading modes (attnkern_set_threading; see set_threading's docstring)

void set_threading(py::object mode) {
  const std::string m = mode.is_none() ? std::string("auto") : py::cast<std::string>(mode);
  const attnkern_status s = attnkern_set_threading(m.c_str());
  if (s != ATTNKERN_OK) raise_status(s, attnkern_last_error_message());
}

// pybind11 keeps a docstring's pointer: the strings built here live as long as the process
const char* keep(std::string text) {
  static std::deque<std::string> texts;
  texts.push_back(std::move(text));
  return texts.back().c_str();
}

// "name (value)": a bound quoted from bounds.hpp, for the docstrings
std::string quote(const char* name, double value) {
  char text[64];
  if (value != 0 && std::fabs(value) < 1e-20) std::snprintf(text, sizeof text, "2^%d", std::ilogb(value));
  else std::snprintf(text, sizeof text, "%g", value);
  return std::string(name) + " (" + text + ")";
}

}  // namespace

PYBIND11_MODULE(_attnkern, m) {
  namespace b = attnkern::bounds;
  py::options options;
  options.disable_function_signatures();  // each docstring starts with its own, in Python's terms
  m.doc() = "attnkern's kernels on NumPy arrays and DLPack tensors (see the package attnkern).";
  m.attr("__version__") = attnkern_version();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const unusable& u) {
      PyErr_SetString(u.dtype ? PyExc_TypeError : PyExc_ValueError, u.message.c_str());
    }
  });

  const std::string copy_doc =
      "Arrays go in as they are, without a copy: float32 (attention: float16 and bfloat16 too). Another dtype "
      "is a TypeError, a layout the kernel cannot take a ValueError, unless copy=True: then such an argument is "
      "converted once (np.ascontiguousarray, to float32 when its dtype was the problem). out= is never converted.";

  m.def("tanh", &tanh_, arg("x"), py::kw_only(), arg("out") = py::none(), arg("copy") = false,
        keep("tanh(x, *, out=None, copy=False) -> array\n\nElementwise tanh of a float32 array of any shape whose elements "
         "fill one block (any axis order; the result has x's strides). out=x works in place. Within " +
         quote("tanh_max_ulp", b::tanh_max_ulp) + " ULP of the exact value for every float input.\n\n" + copy_doc));
  const std::string softmax_doc =
      "(x, axis=-1, *, out=None, copy=False) -> array\n\nAlong `axis` of a float32 array whose `axis` is contiguous "
      "and whose other axes fill one block (a C-contiguous array with axis=-1, its transpose with axis=0); the "
      "result has x's strides; out=x works in place. Another layout is a ValueError, or with copy=True one copy "
      "with the axis moved last. ";
  m.def("softmax",
        [](py::handle x, int axis, py::handle out, bool copy) { return rowwise(attnkern_softmax_f32, x, axis, out, copy); },
        arg("x"), arg("axis") = -1, py::kw_only(), arg("out") = py::none(), arg("copy") = false,
        keep("softmax" + softmax_doc + "Each output within " + quote("softmax_max_rel_error", b::softmax_max_rel_error) +
         " relative of the float64 value, plus " + quote("softmax_abs_floor", b::softmax_abs_floor) +
         " absolute; sums within " + quote("softmax_max_sum_error", b::softmax_max_sum_error) +
         " of 1. -inf gives 0; a NaN or +inf makes its row NaN.\n\n" + copy_doc));
  m.def("log_softmax",
        [](py::handle x, int axis, py::handle out, bool copy) { return rowwise(attnkern_log_softmax_f32, x, axis, out, copy); },
        arg("x"), arg("axis") = -1, py::kw_only(), arg("out") = py::none(), arg("copy") = false,
        keep("log_softmax" + softmax_doc + "Within " + quote("log_softmax_max_error", b::log_softmax_max_error) +
         " times max(1, |y|) of the float64 value.\n\n" + copy_doc));
  m.def("attention_pool", &attention_pool, arg("h"), arg("w"), arg("bias") = py::none(), py::kw_only(),
        arg("lengths") = py::none(), arg("return_weights") = false, arg("out") = py::none(), arg("copy") = false,
        keep("attention_pool(h, w, bias=None, *, lengths=None, return_weights=False, out=None, copy=False)\n\n"
         "Feed-forward attention pooling: e = tanh(h @ w + bias), alpha = softmax(e) over steps, context = alpha @ h.\n"
         "h: (batch, steps, features) or (steps, features), float32, C-contiguous; w: (features,); bias: (steps,) "
         "or None; lengths: (batch,) integers (or one int for 2-D h), steps at or past which are never read.\n"
         "Returns context (batch, features) [or (features,)], and with return_weights=True (context, weights "
         "(batch, steps)). Weights within " + quote("attention_pool_max_error", b::attention_pool_max_error) +
         " relative, context within it times max|h| over the steps read, each plus " +
         quote("attention_abs_floor", b::attention_abs_floor) + ".\n\n" + copy_doc));
  m.def("additive_attention", &additive_attention, arg("keys"), arg("query"), arg("v"), arg("values"), py::kw_only(),
        arg("lengths") = py::none(), arg("return_weights") = false, arg("out") = py::none(), arg("copy") = false,
        keep("additive_attention(keys, query, v, values, *, lengths=None, return_weights=False, out=None, copy=False)\n\n"
         "Additive (Bahdanau) attention: s = tanh(keys + query) @ v, alpha = softmax(s) over steps, context = alpha @ values.\n"
         "keys: (batch, steps, attn_dim) (the encoder states projected) or (steps, attn_dim); query: (batch, "
         "attn_dim) or (attn_dim,); v: (attn_dim,); values: (batch, steps, features) or (steps, features); all "
         "float32, C-contiguous. Returns as attention_pool. Bound: additive_attention_max_error(||v||_1) = max(" +
         quote("additive_attention_base_error", b::additive_attention_base_error) + ", " +
         quote("additive_attention_error_per_v", b::additive_attention_error_per_v) +
         " ||v||_1), as attention_pool's otherwise.\n\n" + copy_doc));
  m.def("attention", &attention_, arg("q"), arg("k"), arg("v"), py::kw_only(), arg("layout") = "BHSD",
        arg("scale") = py::none(), arg("causal") = false, arg("align") = "top_left", arg("window") = py::none(),
        arg("kv_starts") = py::none(), arg("kv_lengths") = py::none(), arg("mask") = py::none(),
        arg("bias") = py::none(), arg("bias_head_scales") = py::none(), arg("alibi_slopes") = py::none(),
        arg("softcap") = 0.0f, arg("sinks") = py::none(), arg("return_lse") = false, arg("out") = py::none(),
        arg("out_dtype") = py::none(), arg("copy") = false,
        keep("attention(q, k, v, *, layout='BHSD', scale=None, causal=False, align='top_left', window=None, "
         "kv_starts=None, kv_lengths=None, mask=None, bias=None, bias_head_scales=None, alibi_slopes=None, "
         "softcap=0.0, sinks=None, return_lse=False, out=None, out_dtype=None, copy=False)\n\n"
         "Scaled dot-product attention on the caller's tensors (attnkern_attention): out = softmax(scale q k^T + "
         "modifiers) v per head.\n"
         "q: layout 'BHSD' (batch, heads, q_len, head_dim) or 'BSHD' (batch, q_len, heads, head_dim); 3-D drops "
         "batch, 2-D (seq, dim) also heads. k, v likewise with kv_heads dividing q's heads (grouped-query "
         "attention from the shapes). Any strides with the last axis contiguous and none negative: views go in "
         "without a copy. float32, float16 or bfloat16 each (halves widened exactly).\n"
         "scale: None for 1/sqrt(head_dim). causal with align 'top_left' (PyTorch's is_causal) or 'bottom_right' "
         "(decoding against a cache); window=(left, right) keys around the diagonal (None: unbounded); "
         "kv_starts, kv_lengths: (batch,) key ranges. mask: bool or uint8, True/nonzero keeps a key; bias: "
         "additive (a -inf hides the key), times bias_head_scales[h] if given; both broadcast to (batch, heads, "
         "q_len, kv_len) with the key axis contiguous. alibi_slopes (heads,): + slope (j - diagonal); softcap > "
         "0: s = softcap tanh(s / softcap); sinks (heads,): a logit in the denominator only.\n"
         "Returns out in q's layout and dtype (out_dtype to choose; with bfloat16 q from NumPy there is none: "
         "pass out=), and with return_lse=True (out, lse) with lse (batch, heads, q_len) float32.\n"
         "Each output row within max|v| sdpa_max_error(head_dim, sigma, n) of the float64 reference (with "
         "modifiers attention_max_error; see attnkern.bounds), on random inputs within " +
         quote("sdpa_random_input_error", b::sdpa_random_input_error) + " max|v|; a half out adds half its last "
         "place. A row's bits do not depend on the thread count, the batch or the other rows.\n\n" + copy_doc));
  m.def("attention_merge", &attention_merge, arg("out_a"), arg("lse_a"), arg("out_b"), arg("lse_b"), py::kw_only(),
        arg("layout") = "BHSD", arg("out") = py::none(), arg("lse") = py::none(), arg("copy") = false,
        keep("attention_merge(out_a, lse_a, out_b, lse_b, *, layout='BHSD', out=None, lse=None, copy=False) -> (out, lse)\n\n"
         "Merges two partial attention results of the same rows over disjoint keys (attention(..., return_lse=True) "
         "on each part): out = (w_a out_a + w_b out_b) / (w_a + w_b), w = e^(lse - max). float32 tensors in "
         "attention's out layout, lse (batch, heads, rows). out=out_a, lse=lse_a works in place. Within the parts' "
         "errors plus " + quote("merge_max_error", b::merge_max_error) + " times the largest |out| (docs/numerics.md)."));

  m.def("kv_append", &kv_append_, arg("k_blocks"), arg("v_blocks"), arg("k"), arg("v"), arg("slots"),
        "kv_append(k_blocks, v_blocks, k, v, slots)\n\n"
        "Writes new positions' keys and values into a paged K/V cache (attnkern_kv_append). The cache is two arrays "
        "(num_blocks, kv_heads, block_tokens, dim), block_tokens a multiple of 64, float32, float16 or bfloat16, "
        "each block C-contiguous (np.zeros((n, heads, 64, dim), np.float16) will do); the caller owns them. "
        "k: (tokens, kv_heads, head_dim), v: (tokens, kv_heads, value_dim), any float type and strides with the "
        "last axis contiguous; slots: (tokens,) integers, slot = block * block_tokens + position in the block, "
        "negative to skip a token. Each element is rounded to the cache's type (nearest even). A slot given "
        "twice or past the cache raises ValueError and writes nothing.");
  m.def("paged_attention", &paged_attention_, arg("q"), arg("k_blocks"), arg("v_blocks"), arg("cu_q"), arg("kv_lens"),
        arg("block_tables"), py::kw_only(), arg("scale") = py::none(), arg("causal") = true, arg("window") = py::none(),
        arg("alibi_slopes") = py::none(), arg("softcap") = 0.0f, arg("sinks") = py::none(), arg("return_lse") = false,
        arg("out") = py::none(),
        "paged_attention(q, k_blocks, v_blocks, cu_q, kv_lens, block_tables, *, scale=None, causal=True, window=None, "
        "alibi_slopes=None, softcap=0.0, sinks=None, return_lse=False, out=None)\n\n"
        "Attention for a mixed batch over a paged K/V cache (attnkern_paged_attention): sequence s's query rows are "
        "q[cu_q[s]:cu_q[s + 1]] (q: (rows, q_heads, head_dim); one row for a decode step, a few for speculative "
        "decoding, a chunk of a prefill), its keys are its positions [0, kv_lens[s]) through block_tables[s] "
        "((num_seqs, max_blocks) integers: position p lies in block block_tables[s, p // block_tokens]). The rows are "
        "the sequence's last positions: causal and window are aligned bottom-right. q_heads a multiple of the cache's "
        "kv_heads (grouped-query attention). Returns out (rows, q_heads, value_dim) float32 (or fills out=), and "
        "with return_lse=True (out, lse) with lse (rows, q_heads). A row's bits equal attention()'s over a "
        "contiguous float32 copy of the same keys and values, whatever the batch, the threads or the block placement.");
  m.def("isa", [] { return std::string(attnkern_isa()); }, "The active ISA path: avx512, avx2, sse2, neon or scalar.");
  m.def("available_isas", [] {
    std::vector<std::string> names;
    std::string list = attnkern_isa_list(), word;
    for (char c : list + " ") {
      if (c == ' ') {
        if (!word.empty()) names.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    return names;
  }, "The ISA paths this build can run on this CPU, best first (scalar last).");
  m.def("set_isa", [](py::object name) {
    const std::string n = name.is_none() ? std::string("auto") : py::cast<std::string>(name);
    const attnkern_status s = attnkern_set_isa(n.c_str());
    if (s != ATTNKERN_OK) raise_status(s, attnkern_last_error_message());
  }, arg("name"), "Forces an ISA path by name (one of available_isas()); 'auto' or None picks the best again. Process-wide.");
  m.def("set_num_threads", [](int n) { attnkern_set_num_threads(n); }, arg("n"),
        "Threads the kernels may use: n > 0 sets it, 0 restores the default (the threading mode's: for 'pool', "
        "OMP_NUM_THREADS or the CPUs this process may run on). Process-wide. Results are bitwise identical for any "
        "number.");
  m.def("num_threads", [] { return attnkern_num_threads(); }, "Threads a kernel called now may use.");
  m.def("set_threading", &set_threading, arg("mode"),
        "set_threading(mode) -> None\n\n"
        "Where the kernels' parallel work runs, process-wide (the C library's attnkern_set_threading). 'pool' (the "
        "default): the library's own pool, whose calling thread takes part and takes every item a worker has not "
        "claimed, so a call never waits for a worker the OS has descheduled (NumPy's OpenBLAS threads spinning after a "
        "matmul, another process); its workers spin 50 µs after a call, then sleep; a forked child gets a fresh pool. "
        "'openmp': an OpenMP team per parallel loop (libgomp's threads spin about a millisecond after a call, and a "
        "region ends when its last thread does): the better choice on cores that are the program's alone. 'auto' or "
        "None: the initial mode (ATTNKERN_THREADING, else 'pool'). Results are bitwise identical in every mode. "
        "Raises ValueError for another name.");
  m.def("threading_mode", [] { return std::string(attnkern_threading_mode()); },
        "The current threading mode: 'pool', 'openmp', or 'external' while a C caller's pool is set "
        "(attnkern_set_thread_pool).");
  m.def("_last_call_pointers", [] {
    py::dict d;
    for (const auto& p : last_pointers) d[py::str(p.first)] = py::int_(p.second);
    return d;
  }, "For tests: the data pointers the last kernel call from this thread received, by argument name.");

  m.def("_c_call_seconds", [](const std::string& function, py::handle x_obj, py::handle out_obj, long calls) {
    holder x = take(x_obj, "x", false, f32_c);
    holder out = take_out(out_obj, "out", [&](const array& a) { same_layout_out(a, *x); });
    if (x->ndim != 2 || calls < 1) throw py::value_error("_c_call_seconds: x must be 2-D and calls >= 1");
    const float* px = reinterpret_cast<const float*>(x->data);
    float* po = reinterpret_cast<float*>(out->data);
    const auto rows = static_cast<size_t>(x->shape[0]), cols = static_cast<size_t>(x->shape[1]);
    rowwise_fn fn = function == "softmax" ? attnkern_softmax_f32 : function == "log_softmax" ? attnkern_log_softmax_f32 : nullptr;
    if (fn == nullptr && function != "tanh") throw py::value_error("_c_call_seconds: softmax, log_softmax or tanh");
    py::gil_scoped_release release;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < calls; ++i) {
      if (fn != nullptr) fn(px, po, rows, cols);
      else attnkern_tanh_f32(px, po, rows * cols);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(calls);
  }, "For the Python benchmark: the time of one C call (softmax, log_softmax or tanh on a 2-D float32 x), "
     "looped in C++ on the same arrays, in seconds.");

  py::module_ bm = m.def_submodule("bounds", "The documented error bounds, as include/attnkern/bounds.hpp defines them.");
  bm.attr("tanh_max_ulp") = b::tanh_max_ulp;
  bm.attr("softmax_max_rel_error") = b::softmax_max_rel_error;
  bm.attr("softmax_abs_floor") = b::softmax_abs_floor;
  bm.attr("softmax_max_sum_error") = b::softmax_max_sum_error;
  bm.attr("log_softmax_max_error") = b::log_softmax_max_error;
  bm.attr("attention_pool_max_error") = b::attention_pool_max_error;
  bm.attr("additive_attention_base_error") = b::additive_attention_base_error;
  bm.attr("additive_attention_error_per_v") = b::additive_attention_error_per_v;
  bm.attr("attention_abs_floor") = b::attention_abs_floor;
  bm.attr("sdpa_random_input_error") = b::sdpa_random_input_error;
  bm.attr("f16_out_floor") = b::f16_out_floor;
  bm.attr("merge_max_error") = b::merge_max_error;
  bm.attr("golden_tolerance") = b::golden_tolerance;
  bm.def("additive_attention_max_error", &b::additive_attention_max_error, arg("v_l1"));
  bm.def("sdpa_max_error", &b::sdpa_max_error, arg("head_dim"), arg("sigma"), arg("keys"));
  bm.def("attention_max_error", &b::attention_max_error, arg("head_dim"), arg("sigma"), arg("keys"));
  bm.def("lse_max_error", &b::lse_max_error, arg("head_dim"), arg("sigma"), arg("keys"));
  bm.def("half_out_error", &b::half_out_error, arg("bf16"));
  bm.def("merge_out_max_error", &b::merge_out_max_error, arg("out_err_a"), arg("out_err_b"), arg("lse_err_a"),
         arg("lse_err_b"), arg("max_abs_out"));
  bm.def("merge_lse_max_error", &b::merge_lse_max_error, arg("lse_err_a"), arg("lse_err_b"), arg("lse"));
}
