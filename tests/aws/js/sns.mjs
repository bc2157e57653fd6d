// The AWS SDK for JavaScript v3 (client-sns) against a strata serve: node sns.mjs <endpoint>.
// Creates a topic, subscribes a new SQS queue to it, publishes (with message attributes)
// and publishes a batch, then prints one JSON line of what it did for test_sns_js.py to
// check against the queue; exits non-zero on any failure.
import {
  SNSClient,
  CreateTopicCommand,
  SubscribeCommand,
  PublishCommand,
  PublishBatchCommand,
  ListSubscriptionsByTopicCommand,
  GetTopicAttributesCommand,
  NotFoundException,
} from "@aws-sdk/client-sns";
import { SQSClient, CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";

const endpoint = process.argv[2];
const config = {
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
};
const sns = new SNSClient(config);
const sqs = new SQSClient(config);

const name = `js-sns-${Date.now()}`;
const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name, Attributes: { DisplayName: "From JS" } }));
const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
const { Attributes: queueAttributes } = await sqs.send(
  new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
);
const { SubscriptionArn } = await sns.send(
  new SubscribeCommand({
    TopicArn,
    Protocol: "sqs",
    Endpoint: queueAttributes.QueueArn,
    ReturnSubscriptionArn: true,
  }),
);
const published = await sns.send(
  new PublishCommand({
    TopicArn,
    Message: "héllo from js",
    Subject: "js subject",
    MessageAttributes: {
      text: { DataType: "String", StringValue: "Zoë" },
      number: { DataType: "Number", StringValue: "42" },
      bytes: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 255]) },
    },
  }),
);
const batch = await sns.send(
  new PublishBatchCommand({
    TopicArn,
    PublishBatchRequestEntries: [
      { Id: "a", Message: "one", MessageAttributes: { k: { DataType: "String", StringValue: "v" } } },
      { Id: "b", Message: "two" },
    ],
  }),
);
const { Subscriptions } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
const { Attributes: topicAttributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn }));
let missing = null;
try {
  await sns.send(new PublishCommand({ TopicArn: `${TopicArn}-absent`, Message: "x" }));
} catch (error) {
  missing = error instanceof NotFoundException ? "NotFoundException" : `${error.name}`;
}
console.log(
  JSON.stringify({
    topicArn: TopicArn,
    queueUrl: QueueUrl,
    subscriptionArn: SubscriptionArn,
    publishedId: published.MessageId,
    batch: (batch.Successful ?? []).map((entry) => ({ id: entry.Id, messageId: entry.MessageId })),
    batchFailed: (batch.Failed ?? []).length,
    listed: (Subscriptions ?? []).map((s) => s.SubscriptionArn),
    displayName: topicAttributes.DisplayName,
    missing,
  }),
);
