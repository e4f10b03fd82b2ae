/** CloudWatch's namespace rule, minus the reserved AWS/ prefix: the setting and the kit's policy share it. */
export const METRICS_NAMESPACE = /^(?!AWS\/)[A-Za-z0-9._#:/-]{1,255}$/;
export const METRICS_NAMESPACE_RULE = 'a CloudWatch namespace of letters, digits and . _ - / # : (not starting with AWS/)';
