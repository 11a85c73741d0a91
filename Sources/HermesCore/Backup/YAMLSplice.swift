import Yams

/// Swaps keys of a block-style YAML mapping at the text level: each key's lines (its value and any
/// comments inside it) come verbatim from the other file, re-indented, and every other line of the
/// file, comments included, stays as it was. Yams can only re-serialize a parsed document, which drops
/// every comment; a routing-only restore should not cost a person their notes.
///
/// Anything unusual (flow style, a key that does not start its line, text that does not parse back to
/// exactly the intended mapping) returns nil, and the caller re-serializes instead.
enum YAMLSplice {
    /// One key's lines, `start..<end` (0-based), without the blank and comment lines after it (they
    /// belong to what follows).
    struct Block {
        var key: String
        var start: Int
        var end: Int
        var indent: Int
    }

    /// The blocks of `mapping`'s keys, whose last one ends at line `end` (exclusive).
    static func blocks(of mapping: Node.Mapping, lines: [String], end: Int) -> [Block]? {
        guard mapping.style != .flow else { return nil }
        var starts: [(key: String, line: Int, indent: Int)] = []
        for (k, _) in mapping {
            guard let key = k.string, let mark = k.mark else { return nil }
            let line = mark.line - 1, column = mark.column - 1
            guard line >= 0, line < lines.count else { return nil }
            // The key must open its line: `key:` indented by spaces only.
            let text = Array(lines[line].unicodeScalars)
            guard column <= text.count, text[..<column].allSatisfy({ $0 == " " }) else { return nil }
            if let last = starts.last, line <= last.line { return nil }
            starts.append((key, line, column))
        }
        var result: [Block] = []
        for (i, s) in starts.enumerated() {
            var e = i + 1 < starts.count ? starts[i + 1].line : end
            while e > s.line + 1, isBlankOrComment(lines[e - 1]) { e -= 1 }
            guard e > s.line else { return nil }
            result.append(Block(key: s.key, start: s.line, end: e, indent: s.indent))
        }
        return result
    }

    static func isBlankOrComment(_ line: String) -> Bool {
        let t = line.drop { $0 == " " || $0 == "\t" }
        return t.isEmpty || t.hasPrefix("#")
    }

    /// `lines` shifted right (`by` > 0) or left by spaces.
    static func reindent(_ lines: ArraySlice<String>, by delta: Int) -> [String] {
        guard delta != 0 else { return Array(lines) }
        return lines.map { line in
            if line.allSatisfy({ $0 == " " }) { return line }
            if delta > 0 { return String(repeating: " ", count: delta) + line }
            let spaces = line.prefix { $0 == " " }.count
            return String(line.dropFirst(min(spaces, -delta)))
        }
    }

    /// `current` with `keys` of one mapping set as in `backup`: replaced, added after the mapping's last
    /// key, or removed. `currentEnd`/`backupEnd` are the lines where each mapping ends.
    static func swapKeys(
        _ keys: [String], current: [String], currentMapping: Node.Mapping, currentEnd: Int,
        backup: [String], backupMapping: Node.Mapping, backupEnd: Int
    ) -> [String]? {
        guard let mine = blocks(of: currentMapping, lines: current, end: currentEnd),
            let theirs = blocks(of: backupMapping, lines: backup, end: backupEnd)
        else { return nil }
        guard let childIndent = mine.first?.indent else { return nil }
        // Edits as (line range to replace, new lines), applied bottom-up.
        var edits: [(range: Range<Int>, lines: [String])] = []
        var appended: [String] = []
        for key in keys where currentMapping[key] != backupMapping[key] {
            let replacement: [String]
            if let b = theirs.first(where: { $0.key == key }) {
                replacement = reindent(backup[b.start..<b.end], by: childIndent - b.indent)
            } else {
                replacement = []
            }
            if let m = mine.first(where: { $0.key == key }) {
                edits.append((m.start..<m.end, replacement))
            } else {
                appended += replacement
            }
        }
        guard let last = mine.last else { return nil }
        if !appended.isEmpty { edits.append((last.end..<last.end, appended)) }
        var out = current
        for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            out.replaceSubrange(edit.range, with: edit.lines)
        }
        return out
    }

    /// A whole profile file: its top-level `keys` as in `backup`.
    static func profile(current: String, backup: String, keys: [String]) -> String? {
        let mine = current.components(separatedBy: "\n"), theirs = backup.components(separatedBy: "\n")
        guard let cm = (try? Yams.compose(yaml: current))??.mapping, let bm = (try? Yams.compose(yaml: backup))??.mapping,
            let out = swapKeys(keys, current: mine, currentMapping: cm, currentEnd: mine.count,
                               backup: theirs, backupMapping: bm, backupEnd: theirs.count)
        else { return nil }
        let text = out.joined(separator: "\n")
        // It must mean exactly what a re-serialization would: these keys from the backup, the rest as was.
        guard let check = (try? Yams.compose(yaml: text))??.mapping else { return nil }
        var expected = cm
        for key in keys { expected[key] = bm[key] }
        return sameMapping(check, expected) ? text : nil
    }

    /// `runtime.yaml`: `front.<keys>` as in `backup`.
    static func runtime(current: String, backup: String, keys: [String]) -> String? {
        let mine = current.components(separatedBy: "\n"), theirs = backup.components(separatedBy: "\n")
        guard let cm = (try? Yams.compose(yaml: current))??.mapping, let bm = (try? Yams.compose(yaml: backup))??.mapping,
            let cf = cm["front"]?.mapping, let bf = bm["front"]?.mapping,
            let cBlocks = blocks(of: cm, lines: mine, end: mine.count), let cFront = cBlocks.first(where: { $0.key == "front" }),
            let bBlocks = blocks(of: bm, lines: theirs, end: theirs.count), let bFront = bBlocks.first(where: { $0.key == "front" }),
            let out = swapKeys(keys, current: mine, currentMapping: cf, currentEnd: cFront.end,
                               backup: theirs, backupMapping: bf, backupEnd: bFront.end)
        else { return nil }
        let text = out.joined(separator: "\n")
        guard let check = (try? Yams.compose(yaml: text))??.mapping else { return nil }
        var expectedFront = cf
        for key in keys { expectedFront[key] = bf[key] }
        var expected = cm
        expected["front"] = .mapping(expectedFront)
        return sameMapping(check, expected) ? text : nil
    }

    /// Same keys in the same order with equal values (marks and styles aside, as `Node` compares).
    static func sameMapping(_ a: Node.Mapping, _ b: Node.Mapping) -> Bool {
        guard a.count == b.count else { return false }
        for ((ka, va), (kb, vb)) in zip(a, b) where ka != kb || va != vb { return false }
        return true
    }
}
