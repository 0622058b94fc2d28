// MessagePack reader and writer (see MsgPack.h for the design).
#include "Worldloom/MsgPack.h"

#include <cstdio>
#include <cstring>
#include <limits>

namespace worldloom {
namespace msgpack {

Value Value::Boolean(bool b) {
    Value v;
    v.type = Type::Bool;
    v.boolean = b;
    return v;
}

Value Value::Integer(int64_t x) {
    Value v;
    v.type = Type::Int;
    v.i = x;
    return v;
}

Value Value::Unsigned(uint64_t x) {
    if (x <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Integer(static_cast<int64_t>(x));
    Value v;
    v.type = Type::UInt;
    v.u = x;
    return v;
}

Value Value::Float(double x) {
    Value v;
    v.type = Type::Float;
    v.f = x;
    return v;
}

Value Value::String(std::string x) {
    Value v;
    v.type = Type::Str;
    v.s = std::move(x);
    return v;
}

Value Value::Binary(std::string raw) {
    Value v;
    v.type = Type::Bin;
    v.s = std::move(raw);
    return v;
}

Value Value::Array(std::vector<Value> elements) {
    Value v;
    v.type = Type::Array;
    v.items = std::move(elements);
    return v;
}

Value Value::Map(std::vector<Value> keys_and_values) {
    Value v;
    v.type = Type::Map;
    v.items = std::move(keys_and_values);
    if (v.items.size() % 2 != 0) v.items.pop_back();
    return v;
}

const Value* Value::find(std::string_view key) const {
    if (type != Type::Map) return nullptr;
    for (size_t k = 0; k + 1 < items.size(); k += 2) {
        if (items[k].type == Type::Str && items[k].s == key) return &items[k + 1];
    }
    return nullptr;
}

bool Value::to_int64(int64_t& out) const {
    if (type != Type::Int) return false;
    out = i;
    return true;
}

bool Value::to_double(double& out) const {
    switch (type) {
        case Type::Float: out = f; return true;
        case Type::Int: out = static_cast<double>(i); return true;
        case Type::UInt: out = static_cast<double>(u); return true;
        default: return false;
    }
}

const char* Value::type_name() const {
    switch (type) {
        case Type::Nil: return "null";
        case Type::Bool: return "bool";
        case Type::Int:
        case Type::UInt: return "int";
        case Type::Float: return "float";
        case Type::Str: return "str";
        case Type::Bin: return "bytes";
        case Type::Array: return "array";
        case Type::Map: return "object";
    }
    return "unknown";
}

bool Value::operator==(const Value& o) const {
    if (type != o.type) return false;
    switch (type) {
        case Type::Nil: return true;
        case Type::Bool: return boolean == o.boolean;
        case Type::Int: return i == o.i;
        case Type::UInt: return u == o.u;
        case Type::Float: return f == o.f || (f != f && o.f != o.f);
        case Type::Str:
        case Type::Bin: return s == o.s;
        case Type::Array:
        case Type::Map: return items == o.items;
    }
    return false;
}

// ---------------------------------------------------------------- writer
void Writer::put_be(uint64_t v, int nbytes) {
    for (int k = nbytes - 1; k >= 0; --k) out_.push_back(static_cast<uint8_t>(v >> (8 * k)));
}

void Writer::write_nil() { put(0xc0); }

void Writer::write_bool(bool v) { put(v ? 0xc3 : 0xc2); }

void Writer::write_uint(uint64_t v) {
    if (v <= 0x7f) {
        put(static_cast<uint8_t>(v));
    } else if (v <= 0xff) {
        put(0xcc);
        put_be(v, 1);
    } else if (v <= 0xffff) {
        put(0xcd);
        put_be(v, 2);
    } else if (v <= 0xffffffffULL) {
        put(0xce);
        put_be(v, 4);
    } else {
        put(0xcf);
        put_be(v, 8);
    }
}

void Writer::write_int(int64_t v) {
    if (v >= 0) {
        write_uint(static_cast<uint64_t>(v));
    } else if (v >= -32) {
        put(static_cast<uint8_t>(v));
    } else if (v >= -128) {
        put(0xd0);
        put_be(static_cast<uint64_t>(v), 1);
    } else if (v >= -32768) {
        put(0xd1);
        put_be(static_cast<uint64_t>(v), 2);
    } else if (v >= -2147483648LL) {
        put(0xd2);
        put_be(static_cast<uint64_t>(v), 4);
    } else {
        put(0xd3);
        put_be(static_cast<uint64_t>(v), 8);
    }
}

void Writer::write_double(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    put(0xcb);
    put_be(bits, 8);
}

void Writer::write_str(std::string_view v) {
    const size_t n = v.size();
    if (n <= 31) {
        put(static_cast<uint8_t>(0xa0 | n));
    } else if (n <= 0xff) {
        put(0xd9);
        put_be(n, 1);
    } else if (n <= 0xffff) {
        put(0xda);
        put_be(n, 2);
    } else {
        put(0xdb);
        put_be(n, 4);
    }
    out_.insert(out_.end(), v.begin(), v.end());
}

void Writer::write_bin(const uint8_t* data, size_t size) {
    if (size <= 0xff) {
        put(0xc4);
        put_be(size, 1);
    } else if (size <= 0xffff) {
        put(0xc5);
        put_be(size, 2);
    } else {
        put(0xc6);
        put_be(size, 4);
    }
    if (size) out_.insert(out_.end(), data, data + size);
}

void Writer::write_array_header(uint32_t count) {
    if (count <= 15) {
        put(static_cast<uint8_t>(0x90 | count));
    } else if (count <= 0xffff) {
        put(0xdc);
        put_be(count, 2);
    } else {
        put(0xdd);
        put_be(count, 4);
    }
}

void Writer::write_map_header(uint32_t count) {
    if (count <= 15) {
        put(static_cast<uint8_t>(0x80 | count));
    } else if (count <= 0xffff) {
        put(0xde);
        put_be(count, 2);
    } else {
        put(0xdf);
        put_be(count, 4);
    }
}

void Writer::write_value(const Value& v) {
    switch (v.type) {
        case Value::Type::Nil: write_nil(); break;
        case Value::Type::Bool: write_bool(v.boolean); break;
        case Value::Type::Int: write_int(v.i); break;
        case Value::Type::UInt: write_uint(v.u); break;
        case Value::Type::Float: write_double(v.f); break;
        case Value::Type::Str: write_str(v.s); break;
        case Value::Type::Bin: write_bin(reinterpret_cast<const uint8_t*>(v.s.data()), v.s.size()); break;
        case Value::Type::Array:
            write_array_header(static_cast<uint32_t>(v.items.size()));
            for (const Value& item : v.items) write_value(item);
            break;
        case Value::Type::Map:
            write_map_header(static_cast<uint32_t>(v.items.size() / 2));
            for (size_t k = 0; k + 1 < v.items.size(); k += 2) {
                write_value(v.items[k]);
                write_value(v.items[k + 1]);
            }
            break;
    }
}

void Writer::write_dict(const Dict& d) {
    write_map_header(static_cast<uint32_t>(d.size()));
    for (const auto& entry : d) {
        write_str(entry.first);
        write_value(entry.second);
    }
}

// ---------------------------------------------------------------- JSON
namespace {

void json_string(std::string& out, const std::string& s) {
    static const char* hex = "0123456789abcdef";
    out.push_back('"');
    for (const char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

std::string json_base64(const std::string& raw) {
    static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t k = 0;
    for (; k + 2 < raw.size(); k += 3) {
        const uint32_t n = (static_cast<uint8_t>(raw[k]) << 16) | (static_cast<uint8_t>(raw[k + 1]) << 8) |
                           static_cast<uint8_t>(raw[k + 2]);
        for (int s = 18; s >= 0; s -= 6) out.push_back(chars[(n >> s) & 63]);
    }
    if (k < raw.size()) {
        uint32_t n = static_cast<uint8_t>(raw[k]) << 16;
        if (k + 1 < raw.size()) n |= static_cast<uint8_t>(raw[k + 1]) << 8;
        out.push_back(chars[(n >> 18) & 63]);
        out.push_back(chars[(n >> 12) & 63]);
        out.push_back(k + 1 < raw.size() ? chars[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

void json_value(std::string& out, const Value& v) {
    switch (v.type) {
        case Value::Type::Nil: out += "null"; break;
        case Value::Type::Bool: out += v.boolean ? "true" : "false"; break;
        case Value::Type::Int: out += std::to_string(v.i); break;
        case Value::Type::UInt: out += std::to_string(v.u); break;
        case Value::Type::Float: {
            if (v.f != v.f || v.f - v.f != 0.0) {
                out += "null";
                break;
            }
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", v.f);
            out += buf;
            break;
        }
        case Value::Type::Str: json_string(out, v.s); break;
        case Value::Type::Bin: json_string(out, json_base64(v.s)); break;
        case Value::Type::Array:
            out.push_back('[');
            for (size_t k = 0; k < v.items.size(); ++k) {
                if (k) out.push_back(',');
                json_value(out, v.items[k]);
            }
            out.push_back(']');
            break;
        case Value::Type::Map:
            out.push_back('{');
            for (size_t k = 0; k + 1 < v.items.size(); k += 2) {
                if (k) out.push_back(',');
                const Value& key = v.items[k];
                if (key.type == Value::Type::Str) {
                    json_string(out, key.s);
                } else {
                    std::string text;
                    json_value(text, key);
                    json_string(out, text);
                }
                out.push_back(':');
                json_value(out, v.items[k + 1]);
            }
            out.push_back('}');
            break;
    }
}

}  // namespace

std::string to_json(const Value& v) {
    std::string out;
    json_value(out, v);
    return out;
}

// ---------------------------------------------------------------- UTF-8
bool is_valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t k = 0;
    while (k < n) {
        const unsigned char c = p[k];
        if (c < 0x80) {
            ++k;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (k + len > n) return false;
        for (size_t j = 1; j < len; ++j) {
            if ((p[k + j] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[k + j] & 0x3f);
        }
        const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < smallest[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        k += len;
    }
    return true;
}

size_t count_code_points(std::string_view s) {
    size_t count = 0;
    for (const char ch : s) {
        if ((static_cast<unsigned char>(ch) & 0xc0) != 0x80) ++count;
    }
    return count;
}

// ---------------------------------------------------------------- reader
namespace {

class MsgPackReader {
public:
    MsgPackReader(const uint8_t* data, size_t size) : p_(data), n_(size) {}

    bool read(Value& out, int depth) {
        if (depth > kMaxDepth) return fail("nesting deeper than 64 levels");
        uint8_t b = 0;
        if (!byte(b)) return false;
        if (b <= 0x7f) {
            out = Value::Integer(b);
            return true;
        }
        if (b >= 0xe0) {
            out = Value::Integer(static_cast<int8_t>(b));
            return true;
        }
        if ((b & 0xf0) == 0x80) return read_map(out, b & 0x0f, depth);
        if ((b & 0xf0) == 0x90) return read_array(out, b & 0x0f, depth);
        if ((b & 0xe0) == 0xa0) return read_str(out, b & 0x1f);
        uint64_t v = 0;
        switch (b) {
            case 0xc0: out = Value(); return true;
            case 0xc2: out = Value::Boolean(false); return true;
            case 0xc3: out = Value::Boolean(true); return true;
            case 0xc4: return be(v, 1) && read_bin(out, v);
            case 0xc5: return be(v, 2) && read_bin(out, v);
            case 0xc6: return be(v, 4) && read_bin(out, v);
            case 0xca: {
                if (!be(v, 4)) return false;
                const uint32_t bits = static_cast<uint32_t>(v);
                float f = 0;
                std::memcpy(&f, &bits, sizeof f);
                out = Value::Float(static_cast<double>(f));
                return true;
            }
            case 0xcb: {
                if (!be(v, 8)) return false;
                double d = 0;
                std::memcpy(&d, &v, sizeof d);
                out = Value::Float(d);
                return true;
            }
            case 0xcc: if (!be(v, 1)) return false; out = Value::Unsigned(v); return true;
            case 0xcd: if (!be(v, 2)) return false; out = Value::Unsigned(v); return true;
            case 0xce: if (!be(v, 4)) return false; out = Value::Unsigned(v); return true;
            case 0xcf: if (!be(v, 8)) return false; out = Value::Unsigned(v); return true;
            case 0xd0: if (!be(v, 1)) return false; out = Value::Integer(static_cast<int8_t>(v)); return true;
            case 0xd1: if (!be(v, 2)) return false; out = Value::Integer(static_cast<int16_t>(v)); return true;
            case 0xd2: if (!be(v, 4)) return false; out = Value::Integer(static_cast<int32_t>(v)); return true;
            case 0xd3: if (!be(v, 8)) return false; out = Value::Integer(static_cast<int64_t>(v)); return true;
            case 0xd9: return be(v, 1) && read_str(out, v);
            case 0xda: return be(v, 2) && read_str(out, v);
            case 0xdb: return be(v, 4) && read_str(out, v);
            case 0xdc: return be(v, 2) && read_array(out, v, depth);
            case 0xdd: return be(v, 4) && read_array(out, v, depth);
            case 0xde: return be(v, 2) && read_map(out, v, depth);
            case 0xdf: return be(v, 4) && read_map(out, v, depth);
            default: break;
        }
        if (b == 0xc1) return fail("reserved byte 0xc1");
        return fail("extension types are not used by the protocol");
    }

    bool at_end() const { return k_ == n_; }
    size_t position() const { return k_; }
    const std::string& error() const { return error_; }
    bool fail(const std::string& why) {
        if (error_.empty()) error_ = why + " at byte " + std::to_string(k_);
        return false;
    }

private:
    bool byte(uint8_t& b) {
        if (k_ >= n_) return fail("truncated data");
        b = p_[k_++];
        return true;
    }
    bool be(uint64_t& v, int nbytes) {
        if (n_ - k_ < static_cast<size_t>(nbytes)) return fail("truncated data");
        v = 0;
        for (int j = 0; j < nbytes; ++j) v = (v << 8) | p_[k_++];
        return true;
    }
    bool raw(std::string& s, uint64_t len) {
        if (len > n_ - k_) return fail("truncated data");
        s.assign(reinterpret_cast<const char*>(p_ + k_), static_cast<size_t>(len));
        k_ += static_cast<size_t>(len);
        return true;
    }
    bool read_str(Value& out, uint64_t len) {
        out = Value();
        out.type = Value::Type::Str;
        if (!raw(out.s, len)) return false;
        if (!is_valid_utf8(out.s)) return fail("invalid UTF-8 in a string");
        return true;
    }
    bool read_bin(Value& out, uint64_t len) {
        out = Value();
        out.type = Value::Type::Bin;
        return raw(out.s, len);
    }
    bool read_array(Value& out, uint64_t count, int depth) {
        if (count > n_ - k_) return fail("truncated data");  // every element takes at least one byte
        out = Value();
        out.type = Value::Type::Array;
        out.items.resize(static_cast<size_t>(count));
        for (Value& item : out.items) {
            if (!read(item, depth + 1)) return false;
        }
        return true;
    }
    bool read_map(Value& out, uint64_t count, int depth) {
        if (count > (n_ - k_) / 2) return fail("truncated data");
        out = Value();
        out.type = Value::Type::Map;
        out.items.resize(static_cast<size_t>(2 * count));
        for (Value& item : out.items) {
            if (!read(item, depth + 1)) return false;
        }
        return true;
    }

    const uint8_t* p_;
    size_t n_;
    size_t k_ = 0;
    std::string error_;
};

}  // namespace

bool parse(const uint8_t* data, size_t size, Value& out, std::string& error) {
    MsgPackReader reader(data, size);
    if (!reader.read(out, 1)) {
        error = reader.error();
        return false;
    }
    if (!reader.at_end()) {
        error = std::to_string(size - reader.position()) + " trailing bytes after the value";
        return false;
    }
    return true;
}

}  // namespace msgpack
}  // namespace worldloom
