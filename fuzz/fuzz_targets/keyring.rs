//! A keyring in any shape. Raw bytes: never a panic. A JSON tree whose every string is
//! either one of the keyring's field names or a marked secret: an error never shows a
//! secret, in its message or its path.
#![no_main]

use kms_instance::key_providers::software::SoftwareKeyProvider;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const MARK: &str = "SECRET";

#[derive(Arbitrary, Debug)]
enum Text {
    Keys,
    Arn,
    Material,
    ValidArn,
    ValidMaterial,
    Secret(u32),
}

impl Text {
    fn value(&self) -> String {
        match self {
            Text::Keys => "keys".into(),
            Text::Arn => "arn".into(),
            Text::Material => "material".into(),
            Text::ValidArn => "acs:kms:cn-hangzhou:1207089758810000:key/k".into(),
            Text::ValidMaterial => "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
            Text::Secret(n) => format!("{MARK}{n:08x}"),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Node {
    Text(Text),
    Number(i64),
    Null,
    List(Vec<Node>),
    Object(Vec<(Text, Node)>),
}

impl Node {
    /// As JSON, cut off below a depth the parser refuses anyway.
    fn json(&self, depth: usize) -> Value {
        if depth > 16 {
            return Value::Null;
        }
        match self {
            Node::Text(t) => Value::String(t.value()),
            Node::Number(n) => Value::from(*n),
            Node::Null => Value::Null,
            Node::List(items) => Value::Array(items.iter().map(|n| n.json(depth + 1)).collect()),
            Node::Object(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.value(), v.json(depth + 1))).collect::<Map<_, _>>())
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Input<'a> {
    Raw(&'a [u8]),
    Shaped(Node),
}

fuzz_target!(|input: Input| {
    let text = match input {
        Input::Raw(bytes) => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let _ = SoftwareKeyProvider::from_keyring_json(text);
            }
            return;
        }
        Input::Shaped(node) => node.json(0).to_string(),
    };
    if let Err(e) = SoftwareKeyProvider::from_keyring_json(&text) {
        let shown = format!("{e} {:?}", e.path);
        assert!(!shown.contains(MARK), "a secret in {shown}");
    }
});
