// Reads the reference notebooks' examples (tests/data/*.txt, installed to share/attnkern/examples/):
// comment lines starting with '#', then arrays as a line "name rows cols" followed by rows lines of
// values. Shared by the tests and attnkern-examples.
#pragma once

#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace attnkern_tools {

// The arrays of the file by name, row-major; empty when the file cannot be read or is malformed.
inline std::map<std::string, std::vector<double>> read_golden(const std::string& path) {
  std::ifstream in(path);
  std::map<std::string, std::vector<double>> arrays;
  std::string line;
  while (in && std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream header(line);
    std::string name;
    std::size_t rows = 0, cols = 0;
    if (!(header >> name >> rows >> cols)) return {};
    std::vector<double>& values = arrays[name];
    values.clear();
    for (std::size_t i = 0; i < rows * cols; ++i) {
      double v;
      if (!(in >> v)) return {};
      values.push_back(v);
    }
  }
  return arrays;
}

}  // namespace attnkern_tools
