#include "runtime/record_text.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "runtime/primitives.hpp"

namespace nyx {

namespace {

struct Member;

// A parsed value as spans of the text: scalars keep their token, which is printed as it is.
struct Node {
  enum class Kind : std::uint8_t { Null, Bool, Int, Number, String, Object, Array };
  Kind kind = Kind::Null;
  // False for a token that nlohmann would print differently (a float, -0, an integer past
  // 64 bits): such a value may be in the private "nyx" object, never in the output.
  bool exact = true;
  std::string_view raw;
  std::vector<Member> members;  // sorted by key, as std::map-backed nlohmann::json writes them
  std::vector<Node> items;

  const Node* find(std::string_view key) const;
};

struct Member {
  std::string_view key;
  Node value;
};

const Node* Node::find(std::string_view key) const {
  for (const Member& m : members) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

// A strict JSON reader that accepts exactly the texts nlohmann::json::parse accepts and can be
// printed from their tokens; it gives up (false) on everything else, valid or not.
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  bool document(Node& top) {
    ws();
    if (!value(top, 0, true) || top.kind != Node::Kind::Object) return false;
    ws();
    return pos_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;

  void ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }

  bool eat(char c) {
    if (pos_ >= s_.size() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  static bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

  // One UTF-8 sequence starting at pos_ (RFC 3629: no overlongs, surrogates or > U+10FFFF,
  // as nlohmann's lexer checks).
  bool utf8() {
    auto at = [this](std::size_t i) -> unsigned {
      return i < s_.size() ? static_cast<unsigned char>(s_[i]) : 0u;
    };
    unsigned c = at(pos_);
    auto cont = [&](std::size_t i, unsigned lo, unsigned hi) {
      unsigned b = at(pos_ + i);
      return b >= lo && b <= hi;
    };
    std::size_t n = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = cont(1, 0x80, 0xbf) ? 2 : 0;
    } else if (c == 0xe0) {
      n = cont(1, 0xa0, 0xbf) && cont(2, 0x80, 0xbf) ? 3 : 0;
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      n = cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) ? 3 : 0;
    } else if (c == 0xed) {
      n = cont(1, 0x80, 0x9f) && cont(2, 0x80, 0xbf) ? 3 : 0;
    } else if (c == 0xf0) {
      n = cont(1, 0x90, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
    } else if (c >= 0xf1 && c <= 0xf3) {
      n = cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
    } else if (c == 0xf4) {
      n = cont(1, 0x80, 0x8f) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
    }
    pos_ += n;
    return n != 0;
  }

  // A string in the escaping nlohmann's dump writes (ensure_ascii off): \" \\ \b \f \n \r \t,
  // \u00xx (lower case) for the other control characters, everything else as it is. Other
  // escapes (\/, \u0041, surrogate pairs) print differently after a parse: not ours.
  bool string(std::string_view& raw, bool& escaped) {
    std::size_t start = pos_;
    if (!eat('"')) return false;
    escaped = false;
    for (;;) {
      if (pos_ >= s_.size()) return false;
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!utf8()) return false;
        continue;
      }
      ++pos_;
      if (c != '\\') continue;
      escaped = true;
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        continue;
      }
      if (e != 'u' || pos_ + 4 > s_.size() || s_.substr(pos_, 2) != "00" || !hex(s_[pos_ + 2]) ||
          !hex(s_[pos_ + 3]) || s_[pos_ + 2] > '1') {
        return false;
      }
      char lo = s_[pos_ + 3];
      unsigned v = (s_[pos_ + 2] == '1' ? 16u : 0u) +
                   static_cast<unsigned>(lo <= '9' ? lo - '0' : lo - 'a' + 10);
      if (v == 0x08 || v == 0x09 || v == 0x0a || v == 0x0c || v == 0x0d) return false;
      pos_ += 4;
    }
    ++pos_;
    raw = s_.substr(start, pos_ - start);
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool number(Node& n) {
    std::size_t start = pos_;
    bool negative = eat('-');
    std::size_t int_start = pos_;
    if (eat('0')) {
    } else if (pos_ < s_.size() && s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && digit(s_[pos_]))
        ++pos_;
    } else {
      return false;
    }
    std::size_t digits = pos_ - int_start;
    bool integer = true;
    if (eat('.')) {
      integer = false;
      if (pos_ >= s_.size() || !digit(s_[pos_])) return false;
      while (pos_ < s_.size() && digit(s_[pos_]))
        ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integer = false;
      ++pos_;
      if (!eat('+')) eat('-');
      if (pos_ >= s_.size() || !digit(s_[pos_])) return false;
      while (pos_ < s_.size() && digit(s_[pos_]))
        ++pos_;
    }
    n.raw = s_.substr(start, pos_ - start);
    n.kind = integer ? Node::Kind::Int : Node::Kind::Number;
    // What nlohmann keeps as a 64-bit integer and prints back digit for digit; "-0" prints "0".
    n.exact = integer && (negative ? digits <= 18 && n.raw != "-0" : digits <= 19);
    return true;
  }

  // At the top level every "summary" member (the line nyx writes first, which read_state drops)
  // is skipped, its keys in any order ("bytes" comes last); everywhere else keys must be
  // strictly increasing, which also rules out duplicates (whose handling is the parser's).
  //
  // `shallow` (the private "nyx" object, never printed, mostly the config): objects and arrays
  // in it are only checked to be JSON, not kept.
  bool object(Node& n, int depth, bool top, bool sorted = true, bool shallow = false) {
    n.kind = Node::Kind::Object;
    ws();
    if (eat('}')) return true;
    std::string_view last;
    for (;;) {
      ws();
      std::string_view key;
      bool escaped = false;
      if (!string(key, escaped) || escaped) return false;
      key = key.substr(1, key.size() - 2);
      ws();
      if (!eat(':')) return false;
      ws();
      bool summary = top && key == "summary";
      Node v;
      bool ok = false;
      if (summary) {
        ok = eat('{') && object(v, depth + 1, false, false);
      } else if (top && key == "nyx" && eat('{')) {
        ok = object(v, depth + 1, false, true, true);
      } else if (shallow && pos_ < s_.size() && (s_[pos_] == '{' || s_[pos_] == '[')) {
        v.kind = s_[pos_] == '{' ? Node::Kind::Object : Node::Kind::Array;
        ok = skip(depth + 1);
      } else {
        ok = value(v, depth + 1, false);
      }
      if (!ok) return false;
      if (!summary) {
        if (sorted && !n.members.empty() && !(last < key)) return false;
        last = key;
        n.members.push_back(Member{key, std::move(v)});
      }
      ws();
      if (eat('}')) return true;
      if (!eat(',')) return false;
    }
  }

  // Any JSON value, checked and dropped.
  bool skip(int depth) {
    if (depth > kMaxDepth || pos_ >= s_.size()) return false;
    char open = s_[pos_];
    if (open != '{' && open != '[') {
      Node scalar;
      return value(scalar, depth, false);
    }
    ++pos_;
    ws();
    if (eat(open == '{' ? '}' : ']')) return true;
    for (;;) {
      ws();
      if (open == '{') {
        std::string_view key;
        bool escaped = false;
        if (!string(key, escaped)) return false;
        ws();
        if (!eat(':')) return false;
        ws();
      }
      if (!skip(depth + 1)) return false;
      ws();
      if (eat(open == '{' ? '}' : ']')) return true;
      if (!eat(',')) return false;
    }
  }

  bool array(Node& n, int depth) {
    n.kind = Node::Kind::Array;
    ws();
    if (eat(']')) return true;
    for (;;) {
      ws();
      Node v;
      if (!value(v, depth + 1, false)) return false;
      n.items.push_back(std::move(v));
      ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
    }
  }

  bool value(Node& n, int depth, bool top) {
    if (depth > kMaxDepth || pos_ >= s_.size()) return false;
    std::size_t start = pos_;
    switch (s_[pos_]) {
      case '{':
        ++pos_;
        return object(n, depth, top);
      case '[':
        ++pos_;
        return array(n, depth);
      case '"': {
        bool escaped = false;
        n.kind = Node::Kind::String;
        return string(n.raw, escaped);
      }
      case 't':
      case 'f':
        n.kind = Node::Kind::Bool;
        if (!literal(s_[pos_] == 't' ? "true" : "false")) return false;
        n.raw = s_.substr(start, pos_ - start);
        return true;
      case 'n':
        n.kind = Node::Kind::Null;
        if (!literal("null")) return false;
        n.raw = s_.substr(start, pos_ - start);
        return true;
      default:
        return number(n);
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// Every token under `n` prints back as it is.
bool exact(const Node& n) {
  for (const Member& m : n.members) {
    if (!exact(m.value)) return false;
  }
  for (const Node& i : n.items) {
    if (!exact(i)) return false;
  }
  return n.exact;
}

// One member of an object as public_state() orders it: a parsed value, a reordered object, or
// the status (whose text comes at render time).
struct Field {
  std::string_view key;
  const Node* node = nullptr;
  const std::vector<Field>* sub = nullptr;
  bool status = false;
};

// nlohmann's in_order() of container.cpp: `first` in that order, then the rest (sorted) but
// `skip`.
std::vector<Field> in_order(const Node& from, std::initializer_list<std::string_view> first,
                            std::string_view skip = {}) {
  std::vector<Field> out;
  out.reserve(from.members.size());
  for (std::string_view k : first) {
    if (const Node* v = from.find(k)) out.push_back(Field{.key = k, .node = v});
  }
  for (const Member& m : from.members) {
    if (m.key == skip) continue;
    bool taken = false;
    for (std::string_view k : first)
      taken = taken || k == m.key;
    if (!taken) out.push_back(Field{.key = m.key, .node = &m.value});
  }
  return out;
}

Field* field(std::vector<Field>& fields, std::string_view key) {
  for (Field& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

// nlohmann's dump(2): two spaces a level, "key": value, empty containers as {} and [].
class Printer {
 public:
  std::string out;
  std::size_t status_at = std::string::npos;

  void node(const Node& n, int indent) {
    if (n.kind == Node::Kind::Object) {
      if (n.members.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      for (std::size_t i = 0; i < n.members.size(); ++i) {
        key(n.members[i].key, indent + 2);
        node(n.members[i].value, indent + 2);
        out += i + 1 < n.members.size() ? ",\n" : "\n";
      }
      close('}', indent);
    } else if (n.kind == Node::Kind::Array) {
      if (n.items.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < n.items.size(); ++i) {
        out.append(static_cast<std::size_t>(indent + 2), ' ');
        node(n.items[i], indent + 2);
        out += i + 1 < n.items.size() ? ",\n" : "\n";
      }
      close(']', indent);
    } else {
      out += n.raw;
    }
  }

  void fields(const std::vector<Field>& fs, int indent) {
    if (fs.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    for (std::size_t i = 0; i < fs.size(); ++i) {
      key(fs[i].key, indent + 2);
      if (fs[i].status) {
        out += '"';
        status_at = out.size();
        out += '"';
      } else if (fs[i].sub != nullptr) {
        fields(*fs[i].sub, indent + 2);
      } else if (fs[i].node != nullptr) {
        node(*fs[i].node, indent + 2);
      } else {
        out += "null";
      }
      out += i + 1 < fs.size() ? ",\n" : "\n";
    }
    close('}', indent);
  }

 private:
  void key(std::string_view k, int indent) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += '"';
    out += k;
    out += "\": ";
  }

  void close(char c, int indent) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += c;
  }
};

// What summarize() takes from the record, with the types its value() calls accept without
// throwing; false for anything else.
bool summary_of(const Node& top, StateSummary& s) {
  for (std::string_view k : {"ociVersion", "status", "bundle", "rootfs", "created", "owner"}) {
    const Node* v = top.find(k);
    if (v != nullptr && v->kind != Node::Kind::String) return false;
  }
  if (const Node* status = top.find("status")) {
    std::string_view raw = status->raw.substr(1, status->raw.size() - 2);
    if (raw.find('\\') != std::string_view::npos) return false;
    s.phase = std::string(raw);
  }
  // Non-negative integers that fit: pid_t, and the 64-bit start time.
  auto integer = [](const Node* v, std::uint64_t max, std::uint64_t& out) {
    if (v == nullptr) return true;
    if (v->kind != Node::Kind::Int || !v->exact || v->raw[0] == '-') return false;
    if (v->raw.size() > 19) return false;
    std::uint64_t x = 0;
    for (char c : v->raw)
      x = x * 10 + static_cast<std::uint64_t>(c - '0');
    if (x > max) return false;
    out = x;
    return true;
  };
  std::uint64_t pid = 0;
  if (!integer(top.find("pid"), 0x7fffffff, pid)) return false;
  s.pid = static_cast<pid_t>(pid);
  if (const Node* nyx = top.find("nyx")) {
    if (nyx->kind != Node::Kind::Object) return false;
    if (!integer(nyx->find("startTime"), UINT64_MAX, s.start_time)) return false;
    if (const Node* paused = nyx->find("paused")) {
      if (paused->kind != Node::Kind::Bool) return false;
      s.paused = paused->raw == "true";
    }
  }
  return true;
}

}  // namespace

std::optional<RecordText> RecordText::parse(std::string_view text) {
  Node top;
  if (!Reader(text).document(top)) return std::nullopt;
  RecordText rec;
  if (!summary_of(top, rec.summary_)) return std::nullopt;

  // public_state(): OCI fields first, "nyx" left out, the live status, the hardening section
  // and its primitives in the table's order, "exit" always there.
  std::vector<Field> fields = in_order(top,
                                       {"ociVersion", "id", "status", "pid", "bundle", "rootfs",
                                        "created", "owner", "annotations", "hardening", "exit"},
                                       "nyx");
  if (Field* f = field(fields, "status")) {
    *f = Field{.key = "status", .status = true};
  } else {
    fields.push_back(Field{.key = "status", .status = true});
  }
  std::vector<Field> hardening;
  std::vector<Field> prims;
  std::vector<std::vector<Field>> each;
  if (Field* f = field(fields, "hardening")) {
    const Node& h = *f->node;
    if (h.kind != Node::Kind::Object) return std::nullopt;
    hardening = in_order(h, {"mode", "level", "ablation", "primitives"});
    if (const Node* p = h.find("primitives")) {
      if (p->kind != Node::Kind::Object) return std::nullopt;
      each.reserve(kPrimitives.size());
      for (const PrimitiveInfo& info : kPrimitives) {
        const Node* one = p->find(info.name);
        if (one == nullptr) continue;
        if (one->kind != Node::Kind::Object) return std::nullopt;
        each.push_back(in_order(*one, {"status", "errno", "error", "ablated"}));
        prims.push_back(Field{.key = info.name, .sub = &each.back()});
      }
      Field* pf = field(hardening, "primitives");
      pf->node = nullptr;
      pf->sub = &prims;
    }
    *f = Field{.key = "hardening", .sub = &hardening};
  }
  if (field(fields, "exit") == nullptr) fields.push_back(Field{.key = "exit"});

  // Only what is printed must print back as written; "nyx" and unknown primitives are not.
  auto all_exact = [](const std::vector<Field>& fs, auto& self) -> bool {
    for (const Field& f : fs) {
      if (f.node != nullptr && !exact(*f.node)) return false;
      if (f.sub != nullptr && !self(*f.sub, self)) return false;
    }
    return true;
  };
  if (!all_exact(fields, all_exact)) return std::nullopt;

  Printer p;
  p.out.reserve(text.size() + text.size() / 2);
  p.fields(fields, 0);
  p.out += '\n';
  rec.head_ = p.out.substr(0, p.status_at);
  rec.tail_ = p.out.substr(p.status_at);
  return rec;
}

std::string RecordText::render(std::string_view status) const {
  std::string out;
  out.reserve(head_.size() + status.size() + tail_.size());
  out.append(head_).append(status).append(tail_);
  return out;
}

}  // namespace nyx
