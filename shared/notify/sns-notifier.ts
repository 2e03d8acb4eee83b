import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { mapAwsError } from '../errors.ts';
import type { Notification, Notifier } from './notification.ts';

/** {@link Notifier} over an SNS topic. */
export class SnsNotifier implements Notifier {
  readonly #sns: Pick<SNSClient, 'send'>;
  readonly #topicArn: string;
  constructor(sns: Pick<SNSClient, 'send'>, topicArn: string) {
    this.#sns = sns;
    this.#topicArn = topicArn;
  }

  async publish(n: Notification): Promise<{ messageId?: string }> {
    try {
      const out = await this.#sns.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Subject: n.subject,
          Message: n.text,
          MessageAttributes: Object.fromEntries(
            Object.entries(n.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
          ),
        }),
      );
      return out.MessageId ? { messageId: out.MessageId } : {};
    } catch (e: unknown) {
      throw mapAwsError(e, `SNS topic ${this.#topicArn}`);
    }
  }
}
