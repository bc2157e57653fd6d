use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use quick_xml::events::Event;
use serde::Serialize;

use super::*;
use crate::aws::body::Blob;

const REQUEST_ID: &str = "b5293cb5-d306-4a17-9048-b263635abe42";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageResult {
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: String,
    #[serde(rename = "MD5OfMessageAttributes")]
    md5_of_message_attributes: Option<String>,
    message_id: String,
    sequence_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MessageAttributeValue {
    string_value: Option<String>,
    binary_value: Option<Blob>,
    data_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    message_id: String,
    receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    md5_of_body: String,
    body: String,
    attributes: Option<BTreeMap<String, String>>,
    #[serde(rename = "MD5OfMessageAttributes")]
    md5_of_message_attributes: Option<String>,
    message_attributes: Option<BTreeMap<String, MessageAttributeValue>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveMessageResult {
    messages: Option<Vec<Message>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PublishResponse {
    message_id: String,
    sequence_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Topic {
    topic_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTopicsResponse {
    topics: Vec<Topic>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetTopicAttributesResponse {
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Flags {
    fifo: bool,
    count: u32,
    tags: Vec<String>,
}

fn text(bytes: &Bytes) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8")
}

#[test]
fn sqs_send_message_response() {
    let output = SendMessageResult {
        md5_of_message_body: "49f68a5c8493ec2c0bf489821c21fc3b".to_owned(),
        md5_of_message_attributes: Some("3ae8f24a165a8cedc005670c81a27295".to_owned()),
        message_id: "5fea7756-0ea4-451a-a703-a558b933e274".to_owned(),
        sequence_number: None,
    };
    let bytes = encode_response(
        "SendMessage",
        SQS_NAMESPACE,
        REQUEST_ID,
        &output,
        &XmlStyle::SQS,
    )
    .expect("encodes");
    assert_eq!(
        text(&bytes),
        "<SendMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
         <SendMessageResult>\
         <MD5OfMessageBody>49f68a5c8493ec2c0bf489821c21fc3b</MD5OfMessageBody>\
         <MD5OfMessageAttributes>3ae8f24a165a8cedc005670c81a27295</MD5OfMessageAttributes>\
         <MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>\
         </SendMessageResult>\
         <ResponseMetadata><RequestId>b5293cb5-d306-4a17-9048-b263635abe42</RequestId></ResponseMetadata>\
         </SendMessageResponse>"
    );
}

#[test]
fn sqs_receive_message_flattens_messages_attributes_and_message_attributes() {
    let mut attributes = BTreeMap::new();
    attributes.insert("ApproximateReceiveCount".to_owned(), "1".to_owned());
    attributes.insert("SenderId".to_owned(), "AIDAEXAMPLE".to_owned());
    let mut message_attributes = BTreeMap::new();
    message_attributes.insert(
        "city".to_owned(),
        MessageAttributeValue {
            string_value: Some("Any City".to_owned()),
            binary_value: None,
            data_type: "String".to_owned(),
        },
    );
    message_attributes.insert(
        "raw".to_owned(),
        MessageAttributeValue {
            string_value: None,
            binary_value: Some(Blob(Bytes::from_static(b"\x00\x01\x02"))),
            data_type: "Binary".to_owned(),
        },
    );
    let output = ReceiveMessageResult {
        messages: Some(vec![
            Message {
                message_id: "m1".to_owned(),
                receipt_handle: "r1".to_owned(),
                md5_of_body: "d1".to_owned(),
                body: "line 1\r\nline 2 <&>".to_owned(),
                attributes: Some(attributes),
                md5_of_message_attributes: Some("a1".to_owned()),
                message_attributes: Some(message_attributes),
            },
            Message {
                message_id: "m2".to_owned(),
                receipt_handle: "r2".to_owned(),
                md5_of_body: "d2".to_owned(),
                body: "{\"k\":'v'}".to_owned(),
                attributes: None,
                md5_of_message_attributes: None,
                message_attributes: None,
            },
        ]),
    };
    let bytes = encode_response(
        "ReceiveMessage",
        SQS_NAMESPACE,
        REQUEST_ID,
        &output,
        &XmlStyle::SQS,
    )
    .expect("encodes");
    assert_eq!(
        text(&bytes),
        "<ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
         <ReceiveMessageResult>\
         <Message><MessageId>m1</MessageId><ReceiptHandle>r1</ReceiptHandle><MD5OfBody>d1</MD5OfBody>\
         <Body>line 1&#xD;\nline 2 &lt;&amp;&gt;</Body>\
         <Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>\
         <Attribute><Name>SenderId</Name><Value>AIDAEXAMPLE</Value></Attribute>\
         <MD5OfMessageAttributes>a1</MD5OfMessageAttributes>\
         <MessageAttribute><Name>city</Name><Value><StringValue>Any City</StringValue><DataType>String</DataType></Value></MessageAttribute>\
         <MessageAttribute><Name>raw</Name><Value><BinaryValue>AAEC</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>\
         </Message>\
         <Message><MessageId>m2</MessageId><ReceiptHandle>r2</ReceiptHandle><MD5OfBody>d2</MD5OfBody>\
         <Body>{&quot;k&quot;:&apos;v&apos;}</Body></Message>\
         </ReceiveMessageResult>\
         <ResponseMetadata><RequestId>b5293cb5-d306-4a17-9048-b263635abe42</RequestId></ResponseMetadata>\
         </ReceiveMessageResponse>"
    );
}

#[test]
fn sqs_empty_receive_writes_an_empty_result() {
    let output = ReceiveMessageResult { messages: None };
    let bytes = encode_response(
        "ReceiveMessage",
        SQS_NAMESPACE,
        "r",
        &output,
        &XmlStyle::SQS,
    )
    .expect("encodes");
    assert_eq!(
        text(&bytes),
        "<ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
         <ReceiveMessageResult></ReceiveMessageResult>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ReceiveMessageResponse>"
    );
}

#[test]
fn unit_output_writes_no_result_element() {
    let bytes =
        encode_response("DeleteMessage", SQS_NAMESPACE, "r", &(), &XmlStyle::SQS).expect("encodes");
    assert_eq!(
        text(&bytes),
        "<DeleteMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteMessageResponse>"
    );
}

#[test]
fn sns_publish_response() {
    let output = PublishResponse {
        message_id: "94f20ce6-13c5-43a0-9a9e-ca52d816e90b".to_owned(),
        sequence_number: None,
    };
    let bytes = encode_response(
        "Publish",
        SNS_NAMESPACE,
        REQUEST_ID,
        &output,
        &XmlStyle::SNS,
    )
    .expect("encodes");
    assert_eq!(
        text(&bytes),
        "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
         <PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult>\
         <ResponseMetadata><RequestId>b5293cb5-d306-4a17-9048-b263635abe42</RequestId></ResponseMetadata>\
         </PublishResponse>"
    );
}

#[test]
fn sns_list_topics_wraps_members() {
    let output = ListTopicsResponse {
        topics: vec![
            Topic {
                topic_arn: "arn:aws:sns:us-east-1:000000000000:a".to_owned(),
            },
            Topic {
                topic_arn: "arn:aws:sns:us-east-1:000000000000:b".to_owned(),
            },
        ],
        next_token: Some("t2".to_owned()),
    };
    let bytes = encode_response("ListTopics", SNS_NAMESPACE, "r", &output, &XmlStyle::SNS)
        .expect("encodes");
    assert_eq!(
        text(&bytes),
        "<ListTopicsResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListTopicsResult>\
         <Topics>\
         <member><TopicArn>arn:aws:sns:us-east-1:000000000000:a</TopicArn></member>\
         <member><TopicArn>arn:aws:sns:us-east-1:000000000000:b</TopicArn></member>\
         </Topics>\
         <NextToken>t2</NextToken>\
         </ListTopicsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListTopicsResponse>"
    );
}

#[test]
fn sns_maps_are_entries_of_key_and_value() {
    let mut attributes = BTreeMap::new();
    attributes.insert("DisplayName".to_owned(), "Orders".to_owned());
    attributes.insert("FifoTopic".to_owned(), "false".to_owned());
    let output = GetTopicAttributesResponse { attributes };
    let bytes = encode_response(
        "GetTopicAttributes",
        SNS_NAMESPACE,
        "r",
        &output,
        &XmlStyle::SNS,
    )
    .expect("encodes");
    assert_eq!(
        text(&bytes),
        "<GetTopicAttributesResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
         <GetTopicAttributesResult><Attributes>\
         <entry><key>DisplayName</key><value>Orders</value></entry>\
         <entry><key>FifoTopic</key><value>false</value></entry>\
         </Attributes></GetTopicAttributesResult>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetTopicAttributesResponse>"
    );
}

#[test]
fn bools_numbers_and_lists_in_both_styles() {
    let output = Flags {
        fifo: true,
        count: 7,
        tags: vec!["a".to_owned(), "b".to_owned()],
    };
    let sqs = encode_response("X", "n", "r", &output, &XmlStyle::SQS).expect("encodes");
    assert!(
        text(&sqs).contains(
            "<XResult><Fifo>true</Fifo><Count>7</Count><Tag>a</Tag><Tag>b</Tag></XResult>"
        )
    );
    let sns = encode_response("X", "n", "r", &output, &XmlStyle::SNS).expect("encodes");
    assert!(text(&sns).contains(
        "<XResult><Fifo>true</Fifo><Count>7</Count><Tags><member>a</member><member>b</member></Tags></XResult>"
    ));
}

#[test]
fn sqs_error_response() {
    let bytes = encode_error(
        SQS_NAMESPACE,
        Fault::Sender,
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist for this wsdl version.",
        REQUEST_ID,
    );
    assert_eq!(
        text(&bytes),
        "<ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>Sender</Type>\
         <Code>AWS.SimpleQueueService.NonExistentQueue</Code>\
         <Message>The specified queue does not exist for this wsdl version.</Message><Detail/></Error>\
         <RequestId>b5293cb5-d306-4a17-9048-b263635abe42</RequestId></ErrorResponse>"
    );
}

#[test]
fn error_messages_with_illegal_characters_are_still_written() {
    let bytes = encode_error(
        SNS_NAMESPACE,
        Fault::Receiver,
        "InternalError",
        "bad \u{0} <x>",
        "r",
    );
    assert!(text(&bytes).contains(
        "<Type>Receiver</Type><Code>InternalError</Code><Message>bad \u{FFFD} &lt;x&gt;</Message>"
    ));
}

#[test]
fn characters_xml_cannot_carry_are_refused() {
    #[derive(Serialize)]
    struct Out {
        #[serde(rename = "Body")]
        body: &'static str,
    }
    for (body, code_point) in [
        ("a\u{1}b", 1),
        ("\u{FFFE}", 0xFFFE),
        ("\u{FFFF}", 0xFFFF),
        ("\u{1B}", 0x1B),
    ] {
        assert_eq!(
            encode_response("X", "n", "r", &Out { body }, &XmlStyle::SQS),
            Err(XmlError::InvalidCharacter {
                element: "Body".to_owned(),
                code_point
            })
        );
    }
    // Tab, LF and the rest of Unicode are kept as they are.
    let bytes = encode_response(
        "X",
        "n",
        "r",
        &Out {
            body: "\t\n\u{85}\u{2028}\u{10FFFF}",
        },
        &XmlStyle::SQS,
    )
    .expect("encodes");
    assert!(text(&bytes).contains("<Body>\t\n\u{85}\u{2028}\u{10FFFF}</Body>"));
}

/// Reads the text of every `<Body>` element with an independent XML parser; fails on XML that
/// is not well-formed.
fn bodies(xml: &str) -> Result<Vec<String>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().map_err(|error| error.to_string())? {
            Event::Start(start) if start.name().as_ref() == b"Body" => {
                current = Some(String::new())
            }
            Event::End(end) if end.name().as_ref() == b"Body" => {
                found.extend(current.take());
            }
            Event::Text(text) => {
                if let Some(current) = current.as_mut() {
                    current.push_str(&text.decode().map_err(|error| error.to_string())?);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference
                    .resolve_char_ref()
                    .map_err(|error| error.to_string())?
                {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().map_err(|error| error.to_string())?;
                        quick_xml::escape::resolve_xml_entity(&name)
                            .ok_or_else(|| format!("unknown entity {name}"))?
                            .to_owned()
                    }
                };
                if let Some(current) = current.as_mut() {
                    current.push_str(&resolved);
                }
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
    }
}

proptest! {
    #[test]
    fn any_text_reads_back_or_is_refused(body in any::<String>(), extra in "[\\x00-\\x7f&<>\"'\r\n]{0,16}") {
        #[derive(Serialize)]
        struct Out {
            #[serde(rename = "Messages")]
            messages: Vec<Inner>,
        }
        #[derive(Serialize)]
        struct Inner {
            #[serde(rename = "Body")]
            body: String,
        }
        let texts = vec![body.clone(), extra.clone(), format!("{extra}{body}{extra}")];
        let output = Out { messages: texts.iter().map(|body| Inner { body: body.clone() }).collect() };
        let legal = texts.iter().all(|text| text.chars().all(is_xml_char));
        for style in [XmlStyle::SQS, XmlStyle::SNS] {
            match encode_response("ReceiveMessage", SQS_NAMESPACE, "r", &output, &style) {
                Ok(bytes) => {
                    prop_assert!(legal);
                    let read = bodies(text(&bytes)).map_err(TestCaseError::fail)?;
                    prop_assert_eq!(&read, &texts);
                }
                Err(XmlError::InvalidCharacter { element, code_point }) => {
                    prop_assert!(!legal);
                    prop_assert_eq!(element, "Body");
                    prop_assert!(char::from_u32(code_point).is_some_and(|c| !is_xml_char(c)));
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }

    #[test]
    fn error_responses_are_always_well_formed(message in any::<String>(), code in any::<String>()) {
        let bytes = encode_error(SNS_NAMESPACE, Fault::Sender, &code, &message, "r");
        let mut reader = quick_xml::Reader::from_str(text(&bytes));
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(error) => prop_assert!(false, "{error}"),
            }
        }
    }
}
