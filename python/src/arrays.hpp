// The Python module's view of an array argument: a NumPy array (or anything with the buffer
// protocol) or a tensor that speaks DLPack (a PyTorch CPU tensor), taken as it is, without a copy:
// its data pointer, shape, element strides and element type, kept alive while the view lives.
#ifndef ATTNKERN_PYTHON_ARRAYS_HPP
#define ATTNKERN_PYTHON_ARRAYS_HPP

#include <pybind11/pybind11.h>

#include <array>
#include <cstdint>
#include <string>

namespace attnkern_py {

namespace py = pybind11;

enum class kind { f32, f16, bf16, boolean, u8, i8, other };

const char* kind_name(kind k);

// Thrown for an array whose dtype or layout a function cannot take as it is: a TypeError (dtype) or
// ValueError (layout) unless the function was called with copy=True, which converts it instead.
struct unusable {
  bool dtype;  // true: the dtype; false: the layout
  std::string message;
};

constexpr int max_dims = 8;

// One array argument. Not copyable: it owns the buffer it holds.
class array {
 public:
  // Takes `obj` as it is; `name` is the argument's name in error messages. writable: the function
  // writes into it (an out= argument).
  array(py::handle obj, const char* name, bool writable);
  array(const array&) = delete;
  array& operator=(const array&) = delete;
  ~array();

  const char* name;
  py::object object;  // the caller's object
  char* data = nullptr;
  int ndim = 0;
  std::array<std::int64_t, max_dims> shape{}, strides{};  // strides in elements
  kind type = kind::other;
  bool from_dlpack = false;

  std::int64_t size() const;
  // The dtype as the caller knows it: "float64", "torch.float64", ...
  std::string dtype_name() const;
  // Throws `unusable` (a dtype error) unless the type is one of the `n` given.
  void require_type(const kind* allowed, int n) const;
  void require_f32() const { const kind k = kind::f32; require_type(&k, 1); }
  // Throws a ValueError unless ndim is in [lo, hi].
  void require_ndim(int lo, int hi, const char* what) const;
  // Whether the elements fill one block of memory without gaps or overlaps (in any order of the axes).
  bool dense() const;
  bool c_contiguous() const;
  // Throws `unusable` (a layout error) unless C-contiguous.
  void require_c_contiguous() const;
  std::string shape_string() const;

 private:
  Py_buffer buffer_{};
  bool has_buffer_ = false;
  py::object capsule_;
};

// "(2, 3)", "(3,)", "()": a shape as Python prints it.
std::string shape_text(const std::int64_t* dims, int ndim);

// A new NumPy array (or, when `like` came through DLPack and has new_empty_strided, a PyTorch tensor)
// of the given shape and element type, C-contiguous; when `strides_like` is given, with its element
// strides instead (it must be dense).
py::object new_array(const array* like, const std::int64_t* shape, int ndim, kind type,
                     const array* strides_like = nullptr);

}  // namespace attnkern_py

#endif
