// An integer-preserving JSON reader for the golden vectors (some integers exceed 2^53).
//
// Numbers without '.', 'e' or 'E' become long (or ulong above 2^63-1); others double. Objects are
// Dictionary<string, object> (key order kept in Keys), arrays List<object>.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Worldloom.Harness
{
    public static class MiniJson
    {
        public static object Parse(string text)
        {
            int pos = 0;
            object value = ReadValue(text, ref pos);
            SkipWs(text, ref pos);
            if (pos != text.Length) throw new FormatException("trailing JSON at " + pos);
            return value;
        }

        private static void SkipWs(string s, ref int p)
        {
            while (p < s.Length && char.IsWhiteSpace(s[p])) p++;
        }

        private static object ReadValue(string s, ref int p)
        {
            SkipWs(s, ref p);
            char c = s[p];
            if (c == '{')
            {
                p++;
                var map = new Dictionary<string, object>();
                SkipWs(s, ref p);
                if (s[p] == '}') { p++; return map; }
                while (true)
                {
                    SkipWs(s, ref p);
                    string key = ReadString(s, ref p);
                    SkipWs(s, ref p);
                    if (s[p++] != ':') throw new FormatException("expected ':' at " + p);
                    map[key] = ReadValue(s, ref p);
                    SkipWs(s, ref p);
                    char d = s[p++];
                    if (d == '}') return map;
                    if (d != ',') throw new FormatException("expected ',' at " + p);
                }
            }
            if (c == '[')
            {
                p++;
                var list = new List<object>();
                SkipWs(s, ref p);
                if (s[p] == ']') { p++; return list; }
                while (true)
                {
                    list.Add(ReadValue(s, ref p));
                    SkipWs(s, ref p);
                    char d = s[p++];
                    if (d == ']') return list;
                    if (d != ',') throw new FormatException("expected ',' at " + p);
                }
            }
            if (c == '"') return ReadString(s, ref p);
            if (string.CompareOrdinal(s, p, "true", 0, 4) == 0) { p += 4; return true; }
            if (string.CompareOrdinal(s, p, "false", 0, 5) == 0) { p += 5; return false; }
            if (string.CompareOrdinal(s, p, "null", 0, 4) == 0) { p += 4; return null; }
            int start = p;
            bool isFloat = false;
            while (p < s.Length && "+-0123456789.eE".IndexOf(s[p]) >= 0)
            {
                if (".eE".IndexOf(s[p]) >= 0) isFloat = true;
                p++;
            }
            string num = s.Substring(start, p - start);
            if (isFloat) return double.Parse(num, CultureInfo.InvariantCulture);
            long l;
            if (long.TryParse(num, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
            return ulong.Parse(num, CultureInfo.InvariantCulture);
        }

        private static string ReadString(string s, ref int p)
        {
            if (s[p++] != '"') throw new FormatException("expected a string at " + p);
            var sb = new StringBuilder();
            while (true)
            {
                char c = s[p++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                char e = s[p++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u': sb.Append((char)Convert.ToInt32(s.Substring(p, 4), 16)); p += 4; break;
                    default: sb.Append(e); break;
                }
            }
        }
    }
}
