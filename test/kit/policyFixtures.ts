/** What a session script that syncs a home prefix needs, reachable only through the VPC endpoint. */
export const cleanS3Policy = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'ListOwnPrefix',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::example-appstream-data',
      Condition: {
        StringLike: { 's3:prefix': ['reports/*'] },
        StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' },
      },
    },
    {
      Sid: 'ReadWriteReports',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: ['arn:aws:s3:::example-appstream-data/reports/*'],
      Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } },
    },
  ],
};
