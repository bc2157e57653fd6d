// The AWS SDK for JavaScript v3 against a strata serve: node sqs.mjs <endpoint>.
// Prints one JSON line of what it saw; exits non-zero on any failure. The SDK checks the
// MD5 digests of what it sends and receives, and sends each queue operation to the host of
// the queue URL, so a second client with no endpoint configured must still work.
import {
  SQSClient,
  CreateQueueCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
} from "@aws-sdk/client-sqs";

const endpoint = process.argv[2];
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const direct = new SQSClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
// No endpoint: the SDK would call AWS, but sends every call that names a queue to the host
// of its queue URL instead (and says so on stderr), so this client must reach Strata too.
const elsewhere = new SQSClient({ region: "us-east-1", credentials, maxAttempts: 1 });

const name = `js-${Date.now()}`;
const { QueueUrl } = await direct.send(new CreateQueueCommand({ QueueName: name }));
const attributes = {
  text: { DataType: "String", StringValue: "Zoë" },
  number: { DataType: "Number", StringValue: "42" },
  bytes: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 255]) },
};
const sent = await elsewhere.send(
  new SendMessageCommand({ QueueUrl, MessageBody: "héllo\r\n", MessageAttributes: attributes }),
);
const batch = await elsewhere.send(
  new SendMessageBatchCommand({
    QueueUrl,
    Entries: [
      { Id: "a", MessageBody: "one", MessageAttributes: { k: { DataType: "String", StringValue: "v" } } },
      { Id: "b", MessageBody: "two" },
    ],
  }),
);
const received = [];
for (let round = 0; round < 5 && received.length < 3; round++) {
  const { Messages = [] } = await elsewhere.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
    }),
  );
  received.push(...Messages);
}
const deleted = await elsewhere.send(
  new DeleteMessageBatchCommand({
    QueueUrl,
    Entries: received.map((message, index) => ({
      Id: `d${index}`,
      ReceiptHandle: message.ReceiptHandle,
    })),
  }),
);
const { Attributes } = await elsewhere.send(
  new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
);
let missing = null;
try {
  await direct.send(new GetQueueUrlCommand({ QueueName: `${name}-absent` }));
} catch (error) {
  missing = error instanceof QueueDoesNotExist ? "QueueDoesNotExist" : `${error.name}`;
}
console.log(
  JSON.stringify({
    queueUrl: QueueUrl,
    sentId: sent.MessageId,
    batchSuccessful: (batch.Successful ?? []).length,
    received: received.map((message) => ({
      id: message.MessageId,
      body: message.Body,
      attributes: Object.keys(message.MessageAttributes ?? {}).sort(),
      receiveCount: message.Attributes?.ApproximateReceiveCount,
    })),
    deleted: (deleted.Successful ?? []).length,
    left: Attributes.ApproximateNumberOfMessages,
    missing,
  }),
);
