import Testing
@testable import TendConfig

/// tend's own TOML 1.0 parser: the values of the spec's examples, and each rule it breaks
/// refused with a line and column.
@Suite struct TOMLParserTests {
    func parse(_ text: String) throws -> TOMLTable { try TOMLParser.parse(text) }

    /// "line:column: message" of the error, or "parsed" when there is none.
    func failure(_ text: String) -> String {
        do {
            _ = try TOMLParser.parse(text)
            return "parsed"
        } catch {
            return "\(error.position.line):\(error.position.column): \(error.message)"
        }
    }

    func value(_ text: String) throws -> TOMLValue {
        try #require(try parse("v = " + text)["v"])
    }

    @Test func keysBareQuotedAndDotted() throws {
        let t = try parse("""
            bare_key-1 = 1
            "quoted key" = 2
            'literal.key' = 3
            a . b."c d" = 4
            1234 = 5
            "" = 6
            """)
        #expect(t.keys == ["bare_key-1", "quoted key", "literal.key", "a", "1234", ""])
        #expect(t["literal.key"]?.int == 3)
        #expect(t["a"]?.table?["b"]?.table?["c d"]?.int == 4)
        #expect(t[""]?.int == 6)
    }

    @Test func strings() throws {
        #expect(try value(#""tab\there \"q\" \\ \u00E9 \U0001F600""#).string == "tab\there \"q\" \\ é 😀")
        #expect(try value(#"'C:\Users\nodejs'"#).string == #"C:\Users\nodejs"#)
        #expect(try value("\"\"\"\nRoses\nViolets\"\"\"").string == "Roses\nViolets")
        #expect(try value("\"\"\"\\\n   The quick \\\n\n   fox.\"\"\"").string == "The quick fox.")
        #expect(try value("\"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"").string
            == "Here are two quotation marks: \"\". Simple enough.")
        #expect(try value("\"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"").string
            == "\"This,\" she said, \"is just a pointless statement.\"")
        #expect(try value("'''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''").string
            == "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n")
        #expect(try value("''''That,' she said, 'is still pointless.''''").string == "'That,' she said, 'is still pointless.'")
        #expect(try value("\"\"\"a\r\nb\"\"\"").string == "a\nb")
    }

    @Test func numbers() throws {
        #expect(try value("+99").int == 99)
        #expect(try value("-17").int == -17)
        #expect(try value("0").int == 0)
        #expect(try value("1_000_000").int == 1_000_000)
        #expect(try value("0xDEAD_beef").int == 0xDEAD_BEEF)
        #expect(try value("0o755").int == 0o755)
        #expect(try value("0b1101").int == 13)
        #expect(try value("9223372036854775807").int == Int.max)
        #expect(try value("-9223372036854775808").int == Int.min)
        #expect(try value("3.1415").double == 3.1415)
        #expect(try value("-0.01").double == -0.01)
        #expect(try value("5e+22").double == 5e22)
        #expect(try value("1e06").double == 1e6)
        #expect(try value("-2E-2").double == -0.02)
        #expect(try value("6.626e-34").double == 6.626e-34)
        #expect(try value("224_617.445_991").double == 224_617.445_991)
        #expect(try value("0e0").double == 0)
        #expect(try value("-inf").double == -.infinity)
        #expect(try value("+nan").double?.isNaN == true)
        #expect(try value("true").bool == true)
        #expect(try value("false").bool == false)
    }

    @Test func datesAndTimesAreCheckedAndKeptAsWritten() throws {
        for text in ["1979-05-27T07:32:00Z", "1979-05-27T00:32:00.999999-07:00", "1979-05-27 07:32:00Z",
                     "1979-05-27T07:32:00", "1979-05-27", "07:32:00", "00:32:00.999999", "2000-02-29"] {
            guard case .dateTime(let kept) = try value(text) else {
                Issue.record("\(text) is not a date or time")
                continue
            }
            #expect(kept == text)
        }
        #expect(failure("v = 1979-02-29") == "1:5: 1979-02-29 is not a valid date or time")
        #expect(failure("v = 1979-05-27T25:00:00") == "1:5: 1979-05-27T25:00:00 is not a valid date or time")
        #expect(failure("v = 07:32") == "1:5: 07:32 is not a valid date or time")
    }

    @Test func arraysAndInlineTables() throws {
        let t = try parse("""
            integers = [ 1, 2, 3 ]
            nested_mixed = [ [ 1, 2 ], ["a", 'b', "c"], { x = 1 } ]
            multi = [
              1, # one
              2,
            ]
            empty = []
            point = { x = 1, y.z = 2 }
            none = {}
            """)
        #expect(t["integers"]?.array?.compactMap(\.int) == [1, 2, 3])
        #expect(t["nested_mixed"]?.array?[1].array?.compactMap(\.string) == ["a", "b", "c"])
        #expect(t["nested_mixed"]?.array?[2].table?["x"]?.int == 1)
        #expect(t["multi"]?.array?.count == 2)
        #expect(t["empty"]?.array?.isEmpty == true)
        #expect(t["point"]?.table?["y"]?.table?["z"]?.int == 2)
        #expect(t["none"]?.table?.keys == [])
    }

    @Test func tablesAndArraysOfTables() throws {
        let t = try parse("""
            [a.b.c]
            x = 1
            [a]
            y = 2
            [fruit]
            apple.color = "red"
            [fruit.apple.texture]
            smooth = true

            [[products]]
            name = "Hammer"
            [[products]]
            [[products]]
            name = "Nail"
            [[fruits]]
            name = "apple"
            [fruits.physical]
            color = "red"
            [[fruits.varieties]]
            name = "red delicious"
            [[fruits]]
            name = "banana"
            """)
        #expect(t["a"]?.table?["b"]?.table?["c"]?.table?["x"]?.int == 1)
        #expect(t["a"]?.table?["y"]?.int == 2)
        #expect(t["fruit"]?.table?["apple"]?.table?["texture"]?.table?["smooth"]?.bool == true)
        let products = try #require(t["products"]?.array)
        #expect(products.map { $0.table?["name"]?.string } == ["Hammer", nil, "Nail"])
        let fruits = try #require(t["fruits"]?.array)
        #expect(fruits.count == 2)
        #expect(fruits[0].table?["physical"]?.table?["color"]?.string == "red")
        #expect(fruits[0].table?["varieties"]?.array?.first?.table?["name"]?.string == "red delicious")
        #expect(fruits[1].table?["name"]?.string == "banana")
    }

    @Test func positionsOfHeadersAndValues() throws {
        let t = try parse("# é\n  [[service]]\nname = \"é\"\ncommand    =   [\"x\"]\n")
        let service = try #require(t["service"]?.array?.first?.table)
        #expect(service.header == TOMLPosition(line: 2, column: 3))
        #expect(service.position(of: "name") == TOMLPosition(line: 3, column: 8))
        #expect(service.position(of: "command") == TOMLPosition(line: 4, column: 16))
        // Lines inside a multi-line string are counted.
        let after = try parse("a = \"\"\"\none\ntwo\"\"\"\nb = 'x'\n")
        #expect(after.position(of: "b") == TOMLPosition(line: 4, column: 5))
    }

    @Test func whitespaceCommentsAndLineEnds() throws {
        let t = try parse("\u{FEFF}# comment\r\n\tkey\t=\t\"v\"   # trailing\r\n\n[t] # header comment\nk = 1")
        #expect(t["key"]?.string == "v")
        #expect(t["t"]?.table?["k"]?.int == 1)
    }

    @Test func definedTwice() {
        #expect(failure("a = 1\na = 2") == "2:1: a is defined twice")
        #expect(failure("[a]\n[a]") == "2:1: [a] is defined twice")
        #expect(failure("[a]\nb = 1\n[a.b]") == "3:1: [a.b] is defined twice")
        #expect(failure("a.b = 1\na.b.c = 2") == "2:1: a.b.c: a.b is already defined, and cannot be extended by a dotted key")
        #expect(failure("[fruit]\napple.color = 'red'\n[fruit.apple]") == "3:1: [fruit.apple] is defined twice")
        #expect(failure("[a.b.c]\nz = 9\n[a]\nb.c.t = 9") == "4:1: b.c.t: b is already defined, and cannot be extended by a dotted key")
        #expect(failure("a = {}\n[a.b]") == "2:1: [a.b]: a is an inline table, closed once written")
        #expect(failure("a = { b = 1 }\na.c = 2") == "2:1: a.c: a is already defined, and cannot be extended by a dotted key")
        #expect(failure("a = [1]\n[[a]]") == "2:1: [[a]]: a is already defined, not as an array of tables")
        #expect(failure("[[a]]\n[a]") == "2:1: [a] is defined twice")
        #expect(failure("a = 1\n[a.b]") == "2:1: [a.b]: a is already a value, not a table")
        #expect(failure("p = { x = 1, x = 2 }") == "1:14: x is defined twice")
    }

    @Test func syntaxErrorsSayWhereAndWhat() {
        #expect(failure("[[é]]\nx = 1") == #"1:3: expected a key (letters, digits, _ or -, or a quoted key), got "é""#)
        #expect(failure("[[group]]\nchildren = [}") == #"2:13: expected a value, got "}""#)
        #expect(failure("[a") == "1:3: expected ] to close the table header")
        #expect(failure("[[a]") == "1:4: expected ]] to close the table header")
        #expect(failure("[[a] ]") == "1:4: expected ]] to close the table header")
        #expect(failure("key") == "1:4: expected = after the key key")
        #expect(failure("= 1") == #"1:1: expected a key (letters, digits, _ or -, or a quoted key), got "=""#)
        #expect(failure("a =") == "1:4: expected a value, got the end of the file")
        #expect(failure("a = 1 2") == #"1:7: expected the end of the line, got "2""#)
        #expect(failure("a = \"open\nb = 1") == "1:5: the string is not closed with \" on its line")
        #expect(failure("a = '''open") == "1:5: the string is not closed with '''")
        #expect(failure("a = \"\\q\"") == #"1:6: \q is not an escape TOML knows"#)
        #expect(failure("a = \"\\uD800\"") == #"1:6: \u escapes no Unicode scalar value"#)
        #expect(failure("a = \"\\u12\"") == #"1:6: \u takes 4 hexadecimal digits"#)
        #expect(failure("a = [1, 2") == "1:10: the array is not closed with ]")
        #expect(failure("a = [1 2]") == #"1:8: expected , or ] in the array, got "2""#)
        #expect(failure("a = { b = 1,\n c = 2 }") == "1:13: expected a key, got the end of the line")
        #expect(failure("a = { b = 1\n}") == "1:12: expected , or } in the inline table, got the end of the line (an inline table is written on one line)")
        #expect(failure("a = { b = 1, }") == "1:14: an inline table has no comma after its last key")
        #expect(failure("\"\"\"k\"\"\" = 1") == "1:1: a key cannot be a multi-line string")
        #expect(failure("a = \"\"\"x\"\"\"\"\"\"") == #"1:14: expected the end of the line, got """"#)
        #expect(failure("a = tru") == "1:5: expected a value (a string in quotes, a number, true or false, an array, a table), got tru")
        #expect(failure("a = " + String(repeating: "[", count: 101)) == "1:105: arrays and inline tables are nested more than 100 deep")
    }

    @Test func numbersOutsideTheGrammarAreRefused() {
        for text in ["01", "1__0", "1_", "0x", "0xG", "+0x1", "0b2", "1.", ".5", "1.e5", "1e", "1e_5", "00.5",
                     "9223372036854775808", "0x1_0000_0000_0000_0000", "-01", "1.5.5"] {
            #expect(failure("v = \(text)") == "1:5: \(text) is not a valid number (or is too large)", "\(text)")
        }
    }
}
