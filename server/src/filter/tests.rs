//! Tables per operator and per validation error, a proptest of the matcher against the
//! reference interpreter, and the cost property.

use proptest::prelude::*;

use super::{Dialect, Fields, Matcher, Policy, PolicyError, Scope, Value};

fn body(policy: &str, message: &str) -> bool {
    let policy = Policy::parse(policy, Scope::MessageBody, Dialect::Sns).expect("policy parses");
    let fields = Fields::from_json_body(message).expect("body is an object");
    agree(&policy, &fields)
}

fn event(pattern: &str, message: &str) -> bool {
    let policy =
        Policy::parse(pattern, Scope::MessageBody, Dialect::EventBridge).expect("pattern parses");
    let fields = Fields::from_json_body(message).expect("body is an object");
    agree(&policy, &fields)
}

fn attributes(policy: &str, message: &[(&str, &str, &str)]) -> bool {
    let policy =
        Policy::parse(policy, Scope::MessageAttributes, Dialect::Sns).expect("policy parses");
    assert_eq!(policy.scope(), Scope::MessageAttributes);
    let fields = Fields::from_attributes(message.iter().copied());
    agree(&policy, &fields)
}

/// The interpreter's answer, checked against a one-policy matcher's.
fn agree(policy: &Policy, fields: &Fields) -> bool {
    let mut matcher = Matcher::new();
    matcher.insert(1u32, policy);
    let expected = policy.matches(fields);
    assert_eq!(
        matcher.matches(fields) == vec![1],
        expected,
        "{policy:?} on {fields:?}"
    );
    expected
}

#[test]
fn body_scope_operators() {
    let cases: &[(&str, &str, bool)] = &[
        (r#"{"a":["x","y"]}"#, r#"{"a":"y"}"#, true),
        (r#"{"a":["x"]}"#, r#"{"a":"X"}"#, false),
        (r#"{"a":["x"]}"#, r#"{"b":"x"}"#, false),
        (r#"{"a":[100]}"#, r#"{"a":100.0}"#, true),
        (r#"{"a":[100]}"#, r#"{"a":"100"}"#, false),
        (r#"{"a":["100"]}"#, r#"{"a":100}"#, false),
        (r#"{"a":[null]}"#, r#"{"a":null}"#, true),
        (r#"{"a":[null]}"#, r#"{"b":1}"#, false),
        (r#"{"a":[true]}"#, r#"{"a":true}"#, true),
        (r#"{"a":[true]}"#, r#"{"a":"true"}"#, false),
        (r#"{"a":[{"prefix":"ba"}]}"#, r#"{"a":"bat"}"#, true),
        (r#"{"a":[{"prefix":""}]}"#, r#"{"a":"anything"}"#, true),
        (r#"{"a":[{"prefix":"ba"}]}"#, r#"{"a":"cab"}"#, false),
        (r#"{"a":[{"suffix":".jpg"}]}"#, r#"{"a":"cat.jpg"}"#, true),
        (r#"{"a":[{"suffix":".jpg"}]}"#, r#"{"a":"cat.png"}"#, false),
        (
            r#"{"a":[{"equals-ignore-case":"ReD"}]}"#,
            r#"{"a":"rEd"}"#,
            true,
        ),
        (
            r#"{"a":[{"equals-ignore-case":"red"}]}"#,
            r#"{"a":"reds"}"#,
            false,
        ),
        (r#"{"a":[{"anything-but":"x"}]}"#, r#"{"a":"y"}"#, true),
        (r#"{"a":[{"anything-but":"x"}]}"#, r#"{"a":"x"}"#, false),
        (r#"{"a":[{"anything-but":"x"}]}"#, r#"{"b":"y"}"#, false),
        (
            r#"{"a":[{"anything-but":["x","y"]}]}"#,
            r#"{"a":"z"}"#,
            true,
        ),
        (r#"{"a":[{"anything-but":[1,2]}]}"#, r#"{"a":2.0}"#, false),
        (r#"{"a":[{"anything-but":[1,2]}]}"#, r#"{"a":3}"#, true),
        (r#"{"a":[{"anything-but":["x"]}]}"#, r#"{"a":5}"#, true),
        (r#"{"a":[{"anything-but":["x"]}]}"#, r#"{"a":null}"#, true),
        (
            r#"{"a":[{"anything-but":{"prefix":"in"}}]}"#,
            r#"{"a":"inside"}"#,
            false,
        ),
        (
            r#"{"a":[{"anything-but":{"prefix":"in"}}]}"#,
            r#"{"a":"out"}"#,
            true,
        ),
        (
            r#"{"a":[{"anything-but":{"suffix":"in"}}]}"#,
            r#"{"a":"begin"}"#,
            false,
        ),
        (
            r#"{"a":[{"anything-but":"x"}]}"#,
            r#"{"a":["y","x"]}"#,
            false,
        ),
        (
            r#"{"a":[{"anything-but":"x"}]}"#,
            r#"{"a":["y","z"]}"#,
            true,
        ),
        (r#"{"a":[{"numeric":["=",5]}]}"#, r#"{"a":5}"#, true),
        (
            r#"{"a":[{"numeric":[">",0,"<=",100]}]}"#,
            r#"{"a":100}"#,
            true,
        ),
        (
            r#"{"a":[{"numeric":[">",0,"<=",100]}]}"#,
            r#"{"a":0}"#,
            false,
        ),
        (
            r#"{"a":[{"numeric":[">",0,"<=",100]}]}"#,
            r#"{"a":"50"}"#,
            false,
        ),
        (r#"{"a":[{"numeric":["<",-1.5]}]}"#, r#"{"a":-2}"#, true),
        (r#"{"a":[{"numeric":[">=",-1.5]}]}"#, r#"{"a":-1.5}"#, true),
        (r#"{"a":[{"exists":true}]}"#, r#"{"a":null}"#, true),
        (r#"{"a":[{"exists":true}]}"#, r#"{"b":1}"#, false),
        (r#"{"a":[{"exists":true}]}"#, r#"{"a":{"b":1}}"#, false),
        (r#"{"a":[{"exists":false}]}"#, r#"{"b":1}"#, true),
        (r#"{"a":[{"exists":false}]}"#, r#"{"a":1}"#, false),
        (r#"{"a":[{"exists":false}]}"#, r#"{"a":{"b":1}}"#, true),
        (r#"{"a":[{"exists":false}]}"#, r#"{"a":[]}"#, true),
        (r#"{"a":[{"exists":false},"x"]}"#, r#"{"a":"x"}"#, true),
        (
            r#"{"a":[{"cidr":"10.0.0.0/24"}]}"#,
            r#"{"a":"10.0.0.255"}"#,
            true,
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0/24"}]}"#,
            r#"{"a":"10.0.1.0"}"#,
            false,
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0/24"}]}"#,
            r#"{"a":"not an ip"}"#,
            false,
        ),
        (
            r#"{"a":[{"cidr":"2001:db8::/32"}]}"#,
            r#"{"a":"2001:db8:1::1"}"#,
            true,
        ),
        (
            r#"{"a":[{"cidr":"2001:db8::/32"}]}"#,
            r#"{"a":"2001:db9::1"}"#,
            false,
        ),
        (
            r#"{"a":[{"cidr":"0.0.0.0/0"}]}"#,
            r#"{"a":"1.2.3.4"}"#,
            true,
        ),
        (
            r#"{"a":{"b":{"c":["x"]}}}"#,
            r#"{"a":{"b":{"c":"x"}}}"#,
            true,
        ),
        (r#"{"a.b.c":["x"]}"#, r#"{"a":{"b":{"c":"x"}}}"#, true),
        (r#"{"a":{"b.c":["x"]}}"#, r#"{"a":{"b":{"c":"y"}}}"#, false),
        (
            r#"{"Records":{"s3":{"bucket":{"name":["logs"]}}}}"#,
            r#"{"Records":[{"s3":{"bucket":{"name":"pics"}}},{"s3":{"bucket":{"name":"logs"}}}]}"#,
            true,
        ),
        (r#"{"a":["x"],"b":[1]}"#, r#"{"a":"x","b":2}"#, false),
        (r#"{"a":["x"],"b":[1]}"#, r#"{"a":"x","b":1}"#, true),
        (r#"{"$or":[{"a":["x"]},{"b":[1]}]}"#, r#"{"b":1}"#, true),
        (r#"{"$or":[{"a":["x"]},{"b":[1]}]}"#, r#"{"b":2}"#, false),
        (
            r#"{"c":["k"],"$or":[{"a":["x"]},{"$or":[{"b":[1]},{"d":{"e":[true]}}]}]}"#,
            r#"{"c":"k","d":{"e":true}}"#,
            true,
        ),
        (
            r#"{"c":["k"],"$or":[{"a":["x"]},{"$or":[{"b":[1]},{"d":{"e":[true]}}]}]}"#,
            r#"{"d":{"e":true}}"#,
            false,
        ),
        (r#"{}"#, r#"{"a":1}"#, true),
    ];
    for (policy, message, expected) in cases {
        assert_eq!(body(policy, message), *expected, "{policy} on {message}");
    }
}

#[test]
fn body_scope_refuses_bodies_that_are_not_objects() {
    assert!(Fields::from_json_body("[1]").is_none());
    assert!(Fields::from_json_body("not json").is_none());
    let value = serde_json::json!({"a": [1, {"b": "x"}]});
    let fields = Fields::from_json(&value).expect("object");
    assert_eq!(fields.len(), 2);
    assert!(!fields.is_empty());
    assert_eq!(
        fields.values("a.b").collect::<Vec<_>>(),
        vec![&Value::Str("x".to_owned())]
    );
}

#[test]
fn attribute_scope_typing_and_string_arrays() {
    type Attributes<'a> = &'a [(&'a str, &'a str, &'a str)];
    let cases: &[(&str, Attributes, bool)] = &[
        (r#"{"k":["v"]}"#, &[("k", "String", "v")], true),
        (r#"{"k":["v"]}"#, &[("k", "String.custom", "v")], true),
        (r#"{"k":["5"]}"#, &[("k", "Number", "5")], false),
        (r#"{"k":[5]}"#, &[("k", "Number", "5.0")], true),
        (r#"{"k":[5]}"#, &[("k", "Number.int", "5")], true),
        (r#"{"k":[5]}"#, &[("k", "String", "5")], false),
        (
            r#"{"k":[{"numeric":[">",1]}]}"#,
            &[("k", "Number", "oops")],
            false,
        ),
        (
            r#"{"k":[{"exists":true}]}"#,
            &[("k", "Number", "oops")],
            true,
        ),
        (
            r#"{"k":[{"anything-but":"x"}]}"#,
            &[("k", "Number", "oops")],
            false,
        ),
        (r#"{"k":["v"]}"#, &[("k", "Binary", "v")], false),
        (
            r#"{"k":[{"anything-but":"x"}]}"#,
            &[("k", "Binary", "dg==")],
            false,
        ),
        (
            r#"{"k":[{"exists":true}]}"#,
            &[("k", "Binary", "dg==")],
            true,
        ),
        (
            r#"{"k":[{"exists":false}]}"#,
            &[("k", "Binary", "dg==")],
            false,
        ),
        (
            r#"{"k":["b"]}"#,
            &[("k", "String.Array", r#"["a","b"]"#)],
            true,
        ),
        (r#"{"k":[2]}"#, &[("k", "String.Array", r#"["a",2]"#)], true),
        (
            r#"{"k":[true]}"#,
            &[("k", "String.Array", r#"[true]"#)],
            true,
        ),
        (
            r#"{"k":["c"]}"#,
            &[("k", "String.Array", r#"["a","b"]"#)],
            false,
        ),
        (
            r#"{"k":["[\"a\"]"]}"#,
            &[("k", "String.Array", r#"["a""#)],
            false,
        ),
        (
            r#"{"k":[{"exists":true}]}"#,
            &[("k", "String.Array", "[]")],
            true,
        ),
        (
            r#"{"k":[{"anything-but":"a"}]}"#,
            &[("k", "String.Array", r#"["a","b"]"#)],
            false,
        ),
        (
            r#"{"k":[{"anything-but":"c"}]}"#,
            &[("k", "String.Array", r#"["a","b"]"#)],
            true,
        ),
        (r#"{"k.x":["v"]}"#, &[("k.x", "String", "v")], true),
        (
            r#"{"a":["x"],"b":[{"prefix":"p"}]}"#,
            &[("a", "String", "x"), ("b", "String", "pq")],
            true,
        ),
        (
            r#"{"$or":[{"a":["x"]},{"b":["y"]}]}"#,
            &[("b", "String", "y")],
            true,
        ),
        (
            r#"{"a":[{"cidr":"192.168.0.0/16"}]}"#,
            &[("a", "String", "192.168.3.4")],
            true,
        ),
    ];
    for (policy, message, expected) in cases {
        assert_eq!(
            attributes(policy, message),
            *expected,
            "{policy} on {message:?}"
        );
    }
}

#[test]
fn event_bridge_operators() {
    let cases: &[(&str, &str, bool)] = &[
        (
            r#"{"a":[{"wildcard":"Simple*Service"}]}"#,
            r#"{"a":"SimpleQueueService"}"#,
            true,
        ),
        (
            r#"{"a":[{"wildcard":"Simple*Service"}]}"#,
            r#"{"a":"SimpleQueue"}"#,
            false,
        ),
        (r#"{"a":[{"wildcard":"*a*b*"}]}"#, r#"{"a":"xaxbx"}"#, true),
        (r#"{"a":[{"wildcard":"a\\*b"}]}"#, r#"{"a":"a*b"}"#, true),
        (r#"{"a":[{"wildcard":"a\\*b"}]}"#, r#"{"a":"axb"}"#, false),
        (r#"{"a":[{"wildcard":"ab*ba"}]}"#, r#"{"a":"aba"}"#, false),
        (
            r#"{"a":[{"prefix":{"equals-ignore-case":"AB"}}]}"#,
            r#"{"a":"abc"}"#,
            true,
        ),
        (
            r#"{"a":[{"suffix":{"equals-ignore-case":"BC"}}]}"#,
            r#"{"a":"aBc"}"#,
            true,
        ),
        (
            r#"{"a":[{"anything-but":{"wildcard":"x*"}}]}"#,
            r#"{"a":"xy"}"#,
            false,
        ),
        (
            r#"{"a":[{"anything-but":{"equals-ignore-case":["X","Y"]}}]}"#,
            r#"{"a":"y"}"#,
            false,
        ),
        (
            r#"{"a":[{"anything-but":{"prefix":["p","q"]}}]}"#,
            r#"{"a":"r"}"#,
            true,
        ),
        (
            r#"{"a":[{"numeric":["<",4000000000]}]}"#,
            r#"{"a":1}"#,
            true,
        ),
    ];
    for (pattern, message, expected) in cases {
        assert_eq!(event(pattern, message), *expected, "{pattern} on {message}");
    }
}

#[test]
fn validation_errors_carry_aws_messages() {
    use Dialect::{EventBridge, Sns};
    use Scope::{MessageAttributes as Attributes, MessageBody as Body};
    let cases: &[(&str, Scope, Dialect, &str)] = &[
        (
            r#"{"a":[{"prefi":"x"}]}"#,
            Body,
            Sns,
            "Unrecognized match type prefi",
        ),
        (
            r#"{"a":[{"wildcard":"x*"}]}"#,
            Body,
            Sns,
            "Unrecognized match type wildcard",
        ),
        (
            r#"{"a":[{"numeric":5}]}"#,
            Body,
            Sns,
            "Value of numeric must be an array.",
        ),
        (
            r#"{"a":[{"numeric":[]}]}"#,
            Body,
            Sns,
            "Invalid member in numeric match: ]",
        ),
        (
            r#"{"a":[{"numeric":[5]}]}"#,
            Body,
            Sns,
            "Invalid member in numeric match: 5",
        ),
        (
            r#"{"a":[{"numeric":["!",5]}]}"#,
            Body,
            Sns,
            "Unrecognized numeric range operator: !",
        ),
        (
            r#"{"a":[{"numeric":["=","x"]}]}"#,
            Body,
            Sns,
            "Value of equals must be numeric",
        ),
        (
            r#"{"a":[{"numeric":["<",1,">",0]}]}"#,
            Body,
            Sns,
            "Too many elements in numeric expression",
        ),
        (
            r#"{"a":[{"numeric":[">",1,5]}]}"#,
            Body,
            Sns,
            "Bad value in numeric range: 5",
        ),
        (
            r#"{"a":[{"numeric":[">",1,"=",5]}]}"#,
            Body,
            Sns,
            "Bad numeric range operator: =",
        ),
        (
            r#"{"a":[{"numeric":[">",5,"<",1]}]}"#,
            Body,
            Sns,
            "Bottom must be less than top",
        ),
        (
            r#"{"a":[{"numeric":[">",1,"<",5,"<"]}]}"#,
            Body,
            Sns,
            "Too many terms in numeric range expression",
        ),
        (
            r#"{"a":[{"numeric":[">",1000000001]}]}"#,
            Body,
            Sns,
            "Numeric value must be between -1.0E9 and 1.0E9 inclusive, with at most 5 decimal places",
        ),
        (
            r#"{"a":[{"numeric":[">",0.000001]}]}"#,
            Body,
            Sns,
            "Numeric value must be between -1.0E9 and 1.0E9 inclusive, with at most 5 decimal places",
        ),
        (
            r#"{"a":[{"prefix":5}]}"#,
            Body,
            Sns,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"prefix":{"equals-ignore-case":"x"}}]}"#,
            Body,
            Sns,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"suffix":[]}]}"#,
            Body,
            Sns,
            "suffix match pattern must be a string",
        ),
        (
            r#"{"a":[{"equals-ignore-case":1}]}"#,
            Body,
            Sns,
            "equals-ignore-case match pattern must be a string",
        ),
        (
            r#"{"a":[{"exists":"yes"}]}"#,
            Body,
            Sns,
            "exists match pattern must be either true or false.",
        ),
        (
            r#"{"a":[{"prefix":"x","suffix":"y"}]}"#,
            Body,
            Sns,
            "Only one key allowed in match expression",
        ),
        (
            r#"{"a":[{}]}"#,
            Body,
            Sns,
            "Only one key allowed in match expression",
        ),
        (
            r#"{"a":[{"anything-but":{"wildcard":"x"}}]}"#,
            Body,
            Sns,
            "Unsupported anything-but pattern: wildcard",
        ),
        (
            r#"{"a":[{"anything-but":{"equals-ignore-case":"x"}}]}"#,
            Body,
            Sns,
            "Unsupported anything-but pattern: equals-ignore-case",
        ),
        (
            r#"{"a":[{"anything-but":{"prefix":["x"]}}]}"#,
            Body,
            Sns,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"anything-but":true}]}"#,
            Body,
            Sns,
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            r#"{"a":[{"anything-but":[null]}]}"#,
            Body,
            Sns,
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            r#"{"a":[{"cidr":1}]}"#,
            Body,
            Sns,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0"}]}"#,
            Body,
            Sns,
            "Malformed CIDR, one '/' required",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0/x"}]}"#,
            Body,
            Sns,
            "Malformed CIDR, mask bits must be an integer",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0/8"}]}"#,
            Body,
            Sns,
            "Nonstandard IP address: 10.0.0",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0/33"}]}"#,
            Body,
            Sns,
            "Nonstandard IP address: 10.0.0.0",
        ),
        (
            r#"{"a":[["x"]]}"#,
            Body,
            Sns,
            "Match value must be String, number, true, false, or null",
        ),
        (
            r#"{"a":"x"}"#,
            Body,
            Sns,
            "\"a\" must be an object or an array",
        ),
        (r#"{"a":[]}"#, Body, Sns, "Empty arrays are not allowed"),
        (
            r#"{"a":["x"],"$or":[{"b":["y"]}]}"#,
            Body,
            Sns,
            "$or must be an array of at least two objects",
        ),
        (r#"[1]"#, Body, Sns, "Filter policy must be a JSON object"),
        (
            r#"{"a":[1],"b":[1],"c":[1],"d":[1],"e":[1],"f":[1]}"#,
            Attributes,
            Sns,
            "Filter policy can not have more than 5 keys",
        ),
        (
            r#"{"a":{"b":[1],"c":[1],"d":[1]},"e":{"f":[1],"g":[1]},"h":[1]}"#,
            Body,
            Sns,
            "Filter policy can not have more than 5 keys",
        ),
        (
            r#"{"a":[{"wildcard":"a**b"}]}"#,
            Body,
            EventBridge,
            "Consecutive wildcard characters at pos 2",
        ),
        (
            r#"{"a":[{"wildcard":"a\\b"}]}"#,
            Body,
            EventBridge,
            "Invalid escape character at pos 1",
        ),
    ];
    for (text, scope, dialect, message) in cases {
        let error: PolicyError = Policy::parse(text, *scope, *dialect).expect_err(text);
        assert_eq!(error.to_string(), *message, "{text}");
        assert!(error.names_filter_policy());
        assert!(!error.is_too_complex());
    }
    let error = Policy::parse(r#"{"a":{"b":["x"]}}"#, Attributes, Sns).expect_err("nested");
    assert_eq!(
        error.to_string(),
        "Filter policy scope MessageAttributes does not support nested filter policy"
    );
    assert!(!error.names_filter_policy());
    assert!(
        Policy::parse("{", Body, Sns)
            .expect_err("bad json")
            .to_string()
            .starts_with("failed to parse JSON.")
    );
}

#[test]
fn combination_limit_is_150() {
    let values = |count: usize| {
        let list: Vec<String> = (0..count).map(|value| value.to_string()).collect();
        format!("[{}]", list.join(","))
    };
    let at_limit = format!(
        r#"{{"a":{},"b":{},"c":{}}}"#,
        values(5),
        values(5),
        values(6)
    );
    assert!(Policy::parse(&at_limit, Scope::MessageBody, Dialect::Sns).is_ok());
    let over = format!(
        r#"{{"a":{},"b":{},"c":{}}}"#,
        values(5),
        values(5),
        values(7)
    );
    let error = Policy::parse(&over, Scope::MessageBody, Dialect::Sns).expect_err("too complex");
    assert!(error.is_too_complex());
    assert_eq!(error.to_string(), "Filter policy is too complex");
    // `$or` branches add: 10 × (8 + 8) = 160.
    let or = format!(
        r#"{{"a":{},"$or":[{{"b":{}}},{{"c":{}}}]}}"#,
        values(10),
        values(8),
        values(8)
    );
    assert!(
        Policy::parse(&or, Scope::MessageBody, Dialect::Sns)
            .expect_err("over")
            .is_too_complex()
    );
    let long = format!(r#"{{"a":["{}"]}}"#, "x".repeat(256 * 1024));
    let error = Policy::parse(&long, Scope::MessageBody, Dialect::Sns).expect_err("too long");
    assert_eq!(error.to_string(), "Filter policy is too long");
}

#[test]
fn matcher_insert_replace_remove() {
    let parse = |text: &str| Policy::parse(text, Scope::MessageBody, Dialect::Sns).expect("ok");
    let mut matcher = Matcher::default();
    assert!(matcher.is_empty());
    matcher.insert("s1", &parse(r#"{"a":["x"]}"#));
    matcher.insert("s2", &parse(r#"{"a":[{"prefix":"x"}]}"#));
    matcher.insert("s3", &parse(r#"{"b":[{"exists":false}]}"#));
    let message = Fields::from_json_body(r#"{"a":"x"}"#).expect("object");
    assert_eq!(matcher.matches(&message), vec!["s1", "s2", "s3"]);
    matcher.insert("s1", &parse(r#"{"a":["y"]}"#));
    assert_eq!(matcher.len(), 3);
    assert_eq!(matcher.matches(&message), vec!["s2", "s3"]);
    matcher.remove(&"s2");
    matcher.remove(&"missing");
    assert_eq!(matcher.matches(&message), vec!["s3"]);
    matcher.remove(&"s3");
    matcher.remove(&"s1");
    assert!(matcher.is_empty());
    assert!(matcher.matches(&message).is_empty());
}

#[test]
fn work_per_message_does_not_grow_with_policies_on_other_values() {
    let mut matcher = Matcher::new();
    for number in 0..10_000u32 {
        let text = format!(r#"{{"id":["v{number}"],"kind":[{{"prefix":"k{number}"}}]}}"#);
        let policy = Policy::parse(&text, Scope::MessageBody, Dialect::Sns).expect("parses");
        matcher.insert(number, &policy);
    }
    let message = Fields::from_json_body(r#"{"id":"v1234","kind":"k1234-x"}"#).expect("object");
    let (keys, work) = matcher.matches_counting(&message);
    assert_eq!(keys, vec![1234]);
    // Exact lookups, one probe per distinct prefix length (2..=5 bytes) and the hits.
    assert!(work < 20, "work {work}");
}

/// Random policies from a small vocabulary, so that they often match.
fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["\"a\"", "\"b\"", "\"ab\"", "1", "2.5", "null", "true"])
            .prop_map(str::to_owned),
        prop::sample::select(vec![
            r#"{"prefix":"a"}"#,
            r#"{"prefix":""}"#,
            r#"{"suffix":"b"}"#,
            r#"{"equals-ignore-case":"AB"}"#,
            r#"{"anything-but":"a"}"#,
            r#"{"anything-but":[1,"b"]}"#,
            r#"{"anything-but":{"prefix":"a"}}"#,
            r#"{"anything-but":{"suffix":"b"}}"#,
            r#"{"numeric":[">",1]}"#,
            r#"{"numeric":[">=",1,"<",3]}"#,
            r#"{"numeric":["<=",2.5]}"#,
            r#"{"numeric":["=",1]}"#,
            r#"{"exists":true}"#,
            r#"{"exists":false}"#,
            r#"{"cidr":"10.0.0.0/8"}"#,
        ])
        .prop_map(str::to_owned),
    ]
}

fn path() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["p", "q", "r.s", "r.t"])
}

fn object_text() -> impl Strategy<Value = String> {
    let clause = (path(), prop::collection::vec(leaf(), 1..3))
        .prop_map(|(path, leaves)| format!("\"{path}\":[{}]", leaves.join(",")));
    prop::collection::vec(clause, 0..3).prop_map(|clauses| clauses.join(","))
}

fn policy_text() -> impl Strategy<Value = String> {
    (
        object_text(),
        prop::option::of((object_text(), object_text())),
    )
        .prop_map(|(base, or)| match or {
            Some((left, right)) if !left.is_empty() && !right.is_empty() => {
                let separator = if base.is_empty() { "" } else { "," };
                format!("{{{base}{separator}\"$or\":[{{{left}}},{{{right}}}]}}")
            }
            _ => format!("{{{base}}}"),
        })
}

fn message_text() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "\"a\"",
        "\"b\"",
        "\"ab\"",
        "\"AB\"",
        "\"10.1.2.3\"",
        "1",
        "2.5",
        "3",
        "null",
        "true",
        "[\"a\",\"b\"]",
        "[]",
        "{}",
    ]);
    prop::collection::vec(
        (prop::sample::select(vec!["p", "q", "s", "t"]), value),
        0..4,
    )
    .prop_map(|members| {
        let mut top = Vec::new();
        let mut nested = Vec::new();
        for (key, value) in members {
            if key == "s" || key == "t" {
                nested.push(format!("\"{key}\":{value}"));
            } else {
                top.push(format!("\"{key}\":{value}"));
            }
        }
        top.push(format!("\"r\":{{{}}}", nested.join(",")));
        format!("{{{}}}", top.join(","))
    })
}

#[derive(Clone, Debug)]
enum Step {
    Insert(u8, String),
    Remove(u8),
}

proptest! {
    #[test]
    fn matcher_agrees_with_the_interpreter(
        steps in prop::collection::vec(
            prop_oneof![
                3 => (0..8u8, policy_text()).prop_map(|(key, text)| Step::Insert(key, text)),
                1 => (0..8u8).prop_map(Step::Remove),
            ],
            1..24,
        ),
        messages in prop::collection::vec(message_text(), 1..6),
    ) {
        let mut matcher = Matcher::new();
        let mut model: std::collections::BTreeMap<u8, Policy> = Default::default();
        let messages: Vec<Fields> = messages
            .iter()
            .map(|text| Fields::from_json_body(text).expect("object"))
            .collect();
        for step in steps {
            match step {
                Step::Insert(key, text) => {
                    let Ok(policy) = Policy::parse(&text, Scope::MessageBody, Dialect::Sns) else {
                        continue;
                    };
                    matcher.insert(key, &policy);
                    model.insert(key, policy);
                }
                Step::Remove(key) => {
                    matcher.remove(&key);
                    model.remove(&key);
                }
            }
            prop_assert_eq!(matcher.len(), model.len());
            for fields in &messages {
                let expected: Vec<u8> = model
                    .iter()
                    .filter(|(_, policy)| policy.matches(fields))
                    .map(|(key, _)| *key)
                    .collect();
                prop_assert_eq!(matcher.matches(fields), expected, "{:?}", fields);
            }
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,64}") {
        let _ = Policy::parse(&text, Scope::MessageBody, Dialect::EventBridge);
        let _ = Policy::parse(&text, Scope::MessageAttributes, Dialect::Sns);
        let _ = Fields::from_json_body(&text);
    }
}
