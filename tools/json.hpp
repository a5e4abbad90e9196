// A small JSON reader and string escaping, enough for attnkern-numerics' fingerprints: objects,
// arrays, strings (with \" \\ \/ \b \f \n \r \t and \u00XX escapes), numbers, true, false, null.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnkern_tools {
namespace json {

struct value {
  enum kind_t { null_kind, bool_kind, number_kind, string_kind, array_kind, object_kind } kind = null_kind;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<value> array;
  std::map<std::string, value> object;

  // The member `key` of an object, or a null value.
  const value& operator[](const std::string& key) const {
    static const value null;
    auto it = object.find(key);
    return kind == object_kind && it != object.end() ? it->second : null;
  }
  std::string str(const std::string& fallback = "") const { return kind == string_kind ? string : fallback; }
  double num(double fallback = 0) const { return kind == number_kind ? number : fallback; }
};

class parser {
 public:
  explicit parser(const std::string& text) : text_(text) {}
  // The whole text as one value; throws std::runtime_error (with the offset) on malformed input.
  value parse() {
    value v = parse_value();
    skip_space();
    if (pos_ != text_.size()) fail("text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + " at offset " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  bool take(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }
  bool take_word(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }
  value parse_value() {
    if (++depth_ > 64) fail("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    value v;
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = value::object_kind;
      if (!take('}')) {
        do {
          skip_space();
          const std::string key = parse_string();
          expect(':');
          v.object[key] = parse_value();
        } while (take(','));
        expect('}');
      }
    } else if (c == '[') {
      ++pos_;
      v.kind = value::array_kind;
      if (!take(']')) {
        do v.array.push_back(parse_value());
        while (take(','));
        expect(']');
      }
    } else if (c == '"') {
      v.kind = value::string_kind;
      v.string = parse_string();
    } else if (take_word("true")) {
      v.kind = value::bool_kind;
      v.boolean = true;
    } else if (take_word("false")) {
      v.kind = value::bool_kind;
    } else if (take_word("null")) {
    } else {
      const char* begin = text_.c_str() + pos_;
      char* end = nullptr;
      v.kind = value::number_kind;
      v.number = std::strtod(begin, &end);
      if (end == begin) fail("not a JSON value");
      pos_ += static_cast<std::size_t>(end - begin);
    }
    --depth_;
    return v;
  }
  std::string parse_string() {
    if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unfinished escape");
        const char e = text_[pos_++];
        switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'u':
            if (pos_ + 4 > text_.size()) fail("unfinished \\u escape");
            c = static_cast<char>(std::strtol(text_.substr(pos_, 4).c_str(), nullptr, 16) & 0x7f);
            pos_ += 4;
            break;
          default: c = e;
        }
      }
      out += c;
    }
    if (pos_ >= text_.size()) fail("unfinished string");
    ++pos_;
    return out;
  }
  const std::string& text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

// s as a JSON string literal, quotes included.
inline std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace json
}  // namespace attnkern_tools
