// Field readers for the generated decoders (see WireFields.h).
#include "Worldloom/WireFields.h"

#include <cmath>
#include <cstdio>

namespace worldloom {
namespace wire {

std::string Path::render() const {
    std::string tail;
    for (const Path* p = this; p->parent != nullptr; p = p->parent) {
        tail.insert(0, p->key != nullptr ? "." + std::string(p->key) : "[" + std::to_string(p->index) + "]");
    }
    return "$" + tail;
}

namespace {

bool wire_fail(const std::string& what, const Path& path, std::string& err) {
    err = what + " - at `" + path.render() + "`";
    return false;
}

bool wire_wrong_type(const char* expected, const msgpack::Value& v, const Path& path, std::string& err) {
    return wire_fail(std::string("Expected `") + expected + "`, got `" + v.type_name() + "`", path, err);
}

std::string wire_number(double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    std::string s(buf);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";
    return s;
}

}  // namespace

bool read_int(const msgpack::Value& v, int64_t ge, int64_t le, int64_t& out, const Path& path, std::string& err) {
    if (!v.is_int()) return wire_wrong_type("int", v, path, err);
    if (v.type == msgpack::Value::Type::UInt || v.i > le) {
        return wire_fail("Expected `int` <= " + std::to_string(le), path, err);
    }
    if (v.i < ge) return wire_fail("Expected `int` >= " + std::to_string(ge), path, err);
    out = v.i;
    return true;
}

bool read_float(const msgpack::Value& v, double& out, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Float && !v.is_int()) return wire_wrong_type("float", v, path, err);
    v.to_double(out);
    return true;
}

bool read_float_in(const msgpack::Value& v, double ge, double le, double& out, const Path& path, std::string& err) {
    if (!read_float(v, out, path, err)) return false;
    if (std::isnan(out) || out > le) return wire_fail("Expected `float` <= " + wire_number(le), path, err);
    if (out < ge) return wire_fail("Expected `float` >= " + wire_number(ge), path, err);
    return true;
}

bool read_bool(const msgpack::Value& v, bool& out, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Bool) return wire_wrong_type("bool", v, path, err);
    out = v.boolean;
    return true;
}

bool read_str(const msgpack::Value& v, size_t min_len, size_t max_len, const std::regex* pattern,
              const char* pattern_text, std::string& out, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Str) return wire_wrong_type("str", v, path, err);
    if (min_len > 0 || max_len > 0) {
        const size_t n = msgpack::count_code_points(v.s);
        if (max_len > 0 && n > max_len) {
            return wire_fail("Expected `str` of length <= " + std::to_string(max_len), path, err);
        }
        if (n < min_len) return wire_fail("Expected `str` of length >= " + std::to_string(min_len), path, err);
    }
    if (pattern != nullptr && !std::regex_search(v.s, *pattern)) {
        return wire_fail(std::string("Expected `str` matching regex '") + pattern_text + "'", path, err);
    }
    out = v.s;
    return true;
}

bool read_bytes(const msgpack::Value& v, Bytes& out, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Bin) return wire_wrong_type("bytes", v, path, err);
    out.assign(v.s.begin(), v.s.end());
    return true;
}

bool read_literal(const msgpack::Value& v, const char* const* allowed, size_t count, std::string& out,
                  const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Str) return wire_wrong_type("str", v, path, err);
    for (size_t k = 0; k < count; ++k) {
        if (v.s == allowed[k]) {
            out = v.s;
            return true;
        }
    }
    return wire_fail("Invalid enum value '" + v.s + "'", path, err);
}

bool read_dict(const msgpack::Value& v, msgpack::Dict& out, const Path& path, std::string& err) {
    if (!expect_object(v, path, err)) return false;
    out.clear();
    out.reserve(v.map_size());
    for (size_t k = 0; k < v.map_size(); ++k) out.emplace_back(v.map_key(k).s, v.map_value(k));
    return true;
}

bool expect_array(const msgpack::Value& v, size_t max_len, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Array) return wire_wrong_type("array", v, path, err);
    if (max_len > 0 && v.items.size() > max_len) {
        return wire_fail("Expected `array` of length <= " + std::to_string(max_len), path, err);
    }
    return true;
}

bool expect_tuple(const msgpack::Value& v, size_t len, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Array) return wire_wrong_type("array", v, path, err);
    if (v.items.size() != len) {
        return wire_fail("Expected `array` of length " + std::to_string(len) + ", got " +
                             std::to_string(v.items.size()), path, err);
    }
    return true;
}

bool expect_object(const msgpack::Value& v, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Map) return wire_wrong_type("object", v, path, err);
    for (size_t k = 0; k < v.map_size(); ++k) {
        if (v.map_key(k).type != msgpack::Value::Type::Str) {
            return wire_fail(std::string("Expected `str` keys, got `") + v.map_key(k).type_name() + "`", path, err);
        }
    }
    return true;
}

bool expect_positional(const msgpack::Value& v, size_t required, const Path& path, std::string& err) {
    if (v.type != msgpack::Value::Type::Array) return wire_wrong_type("array", v, path, err);
    if (v.items.size() < required) {
        return wire_fail("Expected `array` of at least length " + std::to_string(required) + ", got " +
                             std::to_string(v.items.size()), path, err);
    }
    return true;
}

bool missing_field(const char* name, const Path& path, std::string& err) {
    err = std::string("Object missing required field `") + name + "`";
    if (path.parent != nullptr) err += " - at `" + path.render() + "`";
    return false;
}

}  // namespace wire
}  // namespace worldloom
