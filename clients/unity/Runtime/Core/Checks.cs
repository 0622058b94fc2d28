// Value checks the generated readers call (string lengths in code points, patterns, literals).
using System.Text.RegularExpressions;

namespace Worldloom.Protocol
{
    /// <summary>Range checks shared by the generated message readers; each throws an INVALID decode error.</summary>
    public static class Checks
    {
        /// <summary>Unicode code points in <paramref name="s"/> (a surrogate pair counts once).</summary>
        public static int CodePoints(string s)
        {
            int n = s.Length;
            foreach (char c in s)
                if (char.IsLowSurrogate(c)) n--;
            return n;
        }

        /// <summary>Require min &lt;= code points &lt;= max (max &lt; 0: unbounded).</summary>
        public static void Length(string s, int min, int max)
        {
            int n = CodePoints(s);
            if (max >= 0 && n > max) throw ProtocolDecodeException.Invalid("Expected `str` of length <= " + max);
            if (n < min) throw ProtocolDecodeException.Invalid("Expected `str` of length >= " + min);
        }

        public static void Matches(string s, Regex pattern, string text)
        {
            if (!pattern.IsMatch(s)) throw ProtocolDecodeException.Invalid("Expected `str` matching regex '" + text + "'");
        }

        public static void OneOf(string s, string[] allowed)
        {
            foreach (var a in allowed)
                if (a == s) return;
            throw ProtocolDecodeException.Invalid("Invalid enum value '" + s + "'");
        }
    }
}
