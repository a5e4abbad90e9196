#include "arrays.hpp"

#include <pybind11/numpy.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace attnkern_py {

namespace {

// The DLPack ABI (dlpack.h, version 0.x, the one `__dlpack__()` capsules named "dltensor" carry), as
// its specification lays it out.
struct dl_device {
  std::int32_t device_type;  // 1: the CPU
  std::int32_t device_id;
};
struct dl_data_type {
  std::uint8_t code;  // 0 int, 1 uint, 2 float, 4 bfloat, 6 bool
  std::uint8_t bits;
  std::uint16_t lanes;
};
struct dl_tensor {
  void* data;
  dl_device device;
  std::int32_t ndim;
  dl_data_type dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // in elements; NULL: compact, row-major
  std::uint64_t byte_offset;
};
struct dl_managed_tensor {
  dl_tensor tensor;
  void* manager_ctx;
  void (*deleter)(dl_managed_tensor*);
};

kind from_format(const char* f) {
  if (f == nullptr) return kind::u8;  // PyBUF: no format means unsigned bytes
  if (*f == '@' || *f == '=' || *f == '<') ++f;  // native order; this module is built little-endian only
  if (f[0] == 0 || f[1] != 0) return kind::other;
  switch (*f) {
    case 'f': return kind::f32;
    case 'e': return kind::f16;
    case '?': return kind::boolean;
    case 'B': return kind::u8;
    case 'b': return kind::i8;
    default: return kind::other;
  }
}

kind from_dlpack_type(dl_data_type t) {
  if (t.lanes != 1) return kind::other;
  if (t.code == 2 && t.bits == 32) return kind::f32;
  if (t.code == 2 && t.bits == 16) return kind::f16;
  if (t.code == 4 && t.bits == 16) return kind::bf16;
  if (t.code == 6 && t.bits == 8) return kind::boolean;
  if (t.code == 1 && t.bits == 8) return kind::u8;
  if (t.code == 0 && t.bits == 8) return kind::i8;
  return kind::other;
}

std::string type_of(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

}  // namespace

const char* kind_name(kind k) {
  switch (k) {
    case kind::f32: return "float32";
    case kind::f16: return "float16";
    case kind::bf16: return "bfloat16";
    case kind::boolean: return "bool";
    case kind::u8: return "uint8";
    case kind::i8: return "int8";
    default: return "other";
  }
}

array::array(py::handle obj, const char* arg_name, bool writable)
    : name(arg_name), object(py::reinterpret_borrow<py::object>(obj)) {
  if (PyObject_CheckBuffer(obj.ptr())) {
    if (PyObject_GetBuffer(obj.ptr(), &buffer_, writable ? PyBUF_RECORDS : PyBUF_RECORDS_RO) != 0) {
      PyErr_Clear();
      if (writable && PyObject_GetBuffer(obj.ptr(), &buffer_, PyBUF_RECORDS_RO) == 0) {
        PyBuffer_Release(&buffer_);
        throw py::value_error(std::string(name) + ": the array is read-only");
      }
      throw py::type_error(std::string(name) + ": its buffer cannot be read with strides (" + type_of(obj) + ")");
    }
    has_buffer_ = true;
    if (buffer_.ndim > max_dims) throw py::value_error(std::string(name) + ": more than 8 dimensions");
    ndim = buffer_.ndim;
    data = static_cast<char*>(buffer_.buf);
    type = from_format(buffer_.format);
    const Py_ssize_t item = buffer_.itemsize;
    std::int64_t dense_stride = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      shape[d] = buffer_.shape[d];
      if (buffer_.strides == nullptr) {
        strides[d] = dense_stride;
        dense_stride *= shape[d];
      } else {
        if (buffer_.strides[d] % item != 0)
          throw unusable{false, std::string(name) + ": a stride of " + std::to_string(buffer_.strides[d]) +
                                    " bytes is not a whole number of elements"};
        strides[d] = buffer_.strides[d] / item;
      }
    }
  } else if (PyObject_HasAttrString(obj.ptr(), "__dlpack__")) {
    capsule_ = obj.attr("__dlpack__")();
    auto* managed = static_cast<dl_managed_tensor*>(PyCapsule_GetPointer(capsule_.ptr(), "dltensor"));
    if (managed == nullptr) throw py::error_already_set();
    const dl_tensor& t = managed->tensor;
    if (t.device.device_type != 1)
      throw py::type_error(std::string(name) + ": the tensor is on device type " + std::to_string(t.device.device_type) +
                           ", not on the CPU");
    if (t.ndim > max_dims) throw py::value_error(std::string(name) + ": more than 8 dimensions");
    from_dlpack = true;
    ndim = t.ndim;
    data = static_cast<char*>(t.data) + t.byte_offset;
    type = from_dlpack_type(t.dtype);
    std::int64_t dense_stride = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      shape[d] = t.shape[d];
      strides[d] = t.strides != nullptr ? t.strides[d] : dense_stride;
      dense_stride *= shape[d];
    }
  } else {
    throw unusable{true, std::string(name) +
                             ": expected a NumPy array, an object with the buffer protocol or a tensor with __dlpack__, not " +
                             type_of(obj) + " (copy=True converts it with np.ascontiguousarray)"};
  }
  for (int d = 0; d < ndim; ++d)
    if (strides[d] < 0 && shape[d] > 1)
      throw unusable{false, std::string(name) + ": negative strides (a reversed view, stride " +
                                std::to_string(strides[d]) + " on axis " + std::to_string(d) +
                                ") cannot be passed to attnkern"};
}

array::~array() {
  if (has_buffer_) PyBuffer_Release(&buffer_);
}

std::int64_t array::size() const {
  std::int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  return n;
}

std::string array::dtype_name() const {
  if (PyObject_HasAttrString(object.ptr(), "dtype")) return py::str(object.attr("dtype"));
  if (has_buffer_ && buffer_.format != nullptr) return std::string("buffer format '") + buffer_.format + "'";
  return kind_name(type);
}

void array::require_type(const kind* allowed, int n) const {
  for (int i = 0; i < n; ++i)
    if (type == allowed[i]) return;
  std::string names;
  for (int i = 0; i < n; ++i) names += std::string(i == 0 ? "" : i + 1 == n ? " or " : ", ") + kind_name(allowed[i]);
  throw unusable{true, std::string(name) + ": dtype " + dtype_name() + " is not accepted; attnkern takes " + names +
                           " as it is (pass copy=True to convert it to float32)"};
}

void array::require_ndim(int lo, int hi, const char* what) const {
  if (ndim < lo || ndim > hi)
    throw py::value_error(std::string(name) + ": expected " + what + ", got " + std::to_string(ndim) +
                          " dimensions, shape " + shape_string());
}

bool array::dense() const {
  std::vector<std::pair<std::int64_t, std::int64_t>> axes;  // (stride, extent) of the axes longer than 1
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 0) return true;
    if (shape[d] > 1) axes.emplace_back(strides[d], shape[d]);
  }
  std::sort(axes.begin(), axes.end());
  std::int64_t expected = 1;
  for (const auto& a : axes) {
    if (a.first != expected) return false;
    expected *= a.second;
  }
  return true;
}

bool array::c_contiguous() const {
  std::int64_t expected = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] == 0) return true;
    if (shape[d] > 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

void array::require_c_contiguous() const {
  if (!c_contiguous())
    throw unusable{false, std::string(name) + ": attnkern takes it C-contiguous (row-major, no gaps); its strides " +
                              "are not (pass copy=True, or np.ascontiguousarray)"};
}

std::string shape_text(const std::int64_t* dims, int ndim) {
  std::string s = "(";
  for (int d = 0; d < ndim; ++d) s += std::to_string(dims[d]) + (ndim == 1 ? "," : d + 1 < ndim ? ", " : "");
  return s + ")";
}

std::string array::shape_string() const { return shape_text(shape.data(), ndim); }

py::object new_array(const array* like, const std::int64_t* shape, int ndim, kind type, const array* strides_like) {
  std::vector<py::ssize_t> dims(shape, shape + ndim);
  if (like != nullptr && like->from_dlpack && PyObject_HasAttrString(like->object.ptr(), "new_empty_strided")) {
    // a tensor like the argument (PyTorch's new_empty_strided), on the same device (the CPU)
    py::module_ torch = py::module_::import("torch");
    const char* names[] = {"float32", "float16", "bfloat16"};
    const int index = type == kind::f16 ? 1 : type == kind::bf16 ? 2 : 0;
    py::tuple size(ndim), stride(ndim);
    std::int64_t dense = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      size[d] = py::int_(shape[d]);
      stride[d] = py::int_(strides_like != nullptr && shape[d] > 1 ? strides_like->strides[d] : dense);
      dense *= shape[d];
    }
    return like->object.attr("new_empty_strided")(size, stride, py::arg("dtype") = torch.attr(names[index]));
  }
  if (type == kind::bf16) throw py::type_error("NumPy has no bfloat16 dtype: pass out= a tensor that has one");
  py::dtype dt(type == kind::f16 ? "float16" : "float32");
  if (strides_like == nullptr) return py::array(dt, dims);
  std::vector<py::ssize_t> strides(ndim);
  std::int64_t dense = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    strides[d] = (shape[d] > 1 ? strides_like->strides[d] : dense) * dt.itemsize();
    dense *= shape[d];
  }
  // a dense layout in another axis order: the array's bytes are exactly its elements
  return py::array(dt, dims, strides);
}

}  // namespace attnkern_py
