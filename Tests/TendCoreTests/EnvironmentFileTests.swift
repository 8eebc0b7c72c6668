import Testing
@testable import TendCore

@Suite struct EnvironmentFileTests {
    @Test func linesAsSystemdReadsThem() throws {
        let vars = try EnvironmentFile.parse("""
            # a comment
            ; another

            PLAIN=value with spaces   \t
            export EXPORTED=1
              INDENTED = spaced
            DOUBLE="a \\"quoted\\" \\\\ line\\nnext\\t$HOME \\$X"
            SINGLE='as $written \\n'
            EMPTY=
            CRLF=yes\r
            PLAIN=later wins
            """)
        #expect(vars == ["PLAIN": "later wins", "EXPORTED": "1", "INDENTED": "spaced",
                         "DOUBLE": "a \"quoted\" \\ line\nnext\t$HOME $X", "SINGLE": "as $written \\n",
                         "EMPTY": "", "CRLF": "yes"])
    }

    @Test func aBadLineNamesItsNumber() {
        func error(_ text: String) -> String {
            do {
                _ = try EnvironmentFile.parse(text)
                return ""
            } catch {
                return error.description
            }
        }
        #expect(error("A=1\nnot a line\n") == "line 2: expected KEY=VALUE, got \"not a line\"")
        #expect(error("1A=x") == "line 1: \"1A\" is not a variable name (letters, digits and _, not starting with a digit)")
        #expect(error("A-B=x") == "line 1: \"A-B\" is not a variable name (letters, digits and _, not starting with a digit)")
        #expect(error("=x") == "line 1: \"\" is not a variable name (letters, digits and _, not starting with a digit)")
        #expect(error("\n\nA=\"open") == "line 3: no closing \"")
        #expect(error("A='x' y") == "line 1: text after the closing '")
    }
}
