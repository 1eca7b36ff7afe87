// The answer normalisation of the official VQA evaluation (aagrawal's vqaEval.py), including its
// quirks: punctuation is deleted or replaced by a space depending on the whole answer, and the
// period rule removes at most 32 periods (the code passes re.UNICODE, 32, as the count).
import Foundation

public enum VQAAnswerNormalizer {
    /// The full normalisation: newlines/tabs → spaces, strip, punctuation, then digits and articles.
    public static func normalize(_ answer: String) -> String {
        EvalText.string(digitsAndArticles(punctuation(cleaned(EvalText.scalars(answer)))))
    }

    /// `replace('\n', ' ')`, `replace('\t', ' ')`, `strip()`.
    static func cleaned(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        EvalText.strip(s.map { $0 == "\n" || $0 == "\t" ? " " : $0 })
    }

    static let punct: [Unicode.Scalar] = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-",
                                          ">", "<", "@", "`", ",", "?", "!"]

    /// `processPunctuation`: each mark is deleted when the answer has it next to a space or has a
    /// digit,digit pattern anywhere, else replaced by a space; then every '.' not followed by a
    /// digit is deleted (the first 32 of them).
    static func punctuation(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var hasDigitCommaDigit = false
        if input.count >= 3 {
            for i in 0..<(input.count - 2)
            where input[i + 1] == "," && EvalText.isDecimalDigit(input[i]) && EvalText.isDecimalDigit(input[i + 2]) {
                hasDigitCommaDigit = true
                break
            }
        }
        var out = input
        for p in punct {
            let delete = hasDigitCommaDigit || EvalText.contains(input, [p, " "]) || EvalText.contains(input, [" ", p])
            out = delete ? out.filter { $0 != p } : out.map { $0 == p ? " " : $0 }
        }
        var result: [Unicode.Scalar] = [], removed = 0
        result.reserveCapacity(out.count)
        for (i, c) in out.enumerated() {
            if c == ".", removed < 32, !(i + 1 < out.count && EvalText.isDecimalDigit(out[i + 1])) {
                removed += 1
                continue
            }
            result.append(c)
        }
        return result
    }

    /// `processDigitArticle`: lower case, split, number words → digits, drop a/an/the, restore contractions.
    static func digitsAndArticles(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var words: [String] = []
        for token in EvalText.split(EvalText.lower(input)) {
            let word = EvalText.string(token)
            let mapped = numberWords[word] ?? word
            if !articles.contains(mapped) { words.append(contractions[mapped] ?? mapped) }
        }
        return EvalText.scalars(words.joined(separator: " "))
    }

    static let articles: Set<String> = ["a", "an", "the"]
    static let numberWords = ["none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                              "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"]

    /// The official table (its capitalised keys never match: words are lower-cased first).
    static let contractions: [String: String] = [
        "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
        "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
        "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
        "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
        "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've",
        "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll", "let's": "let's",
        "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
        "mightve": "might've", "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
        "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
        "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's",
        "shouldve": "should've", "shouldnt": "shouldn't", "shouldnt've": "shouldn't've",
        "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd", "somebodyd've": "somebody'd've",
        "somebody'dve": "somebody'd've", "somebodyll": "somebody'll", "somebodys": "somebody's",
        "someoned": "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
        "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
        "somethingd've": "something'd've", "something'dve": "something'd've", "somethingll": "something'll",
        "thats": "that's", "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
        "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
        "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas",
        "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't",
        "whatll": "what'll", "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's",
        "whered": "where'd", "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
        "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
        "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
        "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
        "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
        "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
        "youve": "you've"
    ]
}
