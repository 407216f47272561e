/**
 * What issue 7 requires of `infrastructure/template.yaml`, one check per concern. Each check
 * throws an AssertionError naming what is wrong; test/infrastructure-template.test.ts runs
 * them on the real template and on mutated copies, to prove each one catches its mistake.
 */
import assert from "node:assert/strict";
import { runInNewContext } from "node:vm";
import { isClientRoute } from "../../backend/local/front.ts";
import { contentSecurityPolicy } from "../../web/csp.ts";
import type { Json, Template } from "./sam-template.ts";

export const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
export const ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
export const WORKER_VISIBILITY_FACTOR = 6;
const MAX_RECEIVE_COUNT = 5;
const FOURTEEN_DAYS = 14 * 24 * 3600;
/** Lambda's default when a function sets no Timeout. */
const LAMBDA_DEFAULT_TIMEOUT = 3;

export const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const only = (t: Template, type: string): [string, Json] => {
  const found = ofType(t, type);
  assert.equal(found.length, 1, `exactly one ${type}`);
  return found[0]!;
};
export const isRef = (value: Json, id: string) => value?.Ref === id;
export const getAttOf = (value: Json): string | undefined => value?.["Fn::GetAtt"]?.[0];

/** A function's properties with Globals.Function applied (environment variables merged). */
export function fn(t: Template, id: string): Json {
  const resource = t.Resources[id];
  assert.equal(resource?.Type, "AWS::Serverless::Function", `${id} is a function`);
  const globals = t.Globals?.Function ?? {};
  const props = resource.Properties;
  const variables = { ...globals.Environment?.Variables, ...props.Environment?.Variables };
  return { ...globals, ...props, Environment: { Variables: variables } };
}

/** The one function with a Function URL, the API. */
export function apiFunctionId(t: Template): string {
  const ids = ofType(t, "AWS::Serverless::Function")
    .filter(([id]) => fn(t, id).Handler === "run.sh")
    .map(([id]) => id);
  assert.equal(ids.length, 1, "exactly one function runs the API through run.sh");
  return ids[0]!;
}
const workerIds = (t: Template) =>
  ofType(t, "AWS::Serverless::Function")
    .map(([id]) => id)
    .filter((id) => id !== apiFunctionId(t));
const sqsEvents = (props: Json): Json[] => Object.values(props.Events ?? {}).filter((e: Json) => e.Type === "SQS");

const distributionArn = (t: Template) =>
  new RegExp(
    `^arn:\\$\\{AWS::Partition\\}:cloudfront::\\$\\{AWS::AccountId\\}:distribution/\\$\\{${only(t, "AWS::CloudFront::Distribution")[0]}\\}$`,
  );

export function checkApiFunction(t: Template): void {
  const api = fn(t, apiFunctionId(t));
  assert.equal(api.Runtime, "nodejs24.x");
  const env = api.Environment.Variables;
  assert.equal(env.AWS_LAMBDA_EXEC_WRAPPER, "/opt/bootstrap");
  assert.equal(env.AWS_LWA_INVOKE_MODE, "response_stream");
  assert.equal(env.AWS_LWA_READINESS_CHECK_PATH, "/healthz");
  assert.equal(env.AWS_LWA_PORT, "8080");
  assert.equal(env.PORT, "8080");
  assert.equal(env.AUTH_MODE, "edge");
  assert.deepEqual(api.FunctionUrlConfig, { AuthType: "AWS_IAM", InvokeMode: "RESPONSE_STREAM" });
  // The adapter layer is a native binary: its architecture must be the function's.
  const layer = String(api.Layers?.[0]?.["Fn::Sub"] ?? api.Layers?.[0]);
  const arch = api.Architectures?.[0] ?? "x86_64";
  assert.match(layer, new RegExp(`:753240598075:layer:LambdaAdapterLayer${arch === "arm64" ? "Arm64" : "X86"}:`));
}

export function checkInvokePermissions(t: Template): void {
  const api = apiFunctionId(t);
  const permissions = ofType(t, "AWS::Lambda::Permission")
    .map(([, r]) => r.Properties)
    .filter((p) => isRef(p.FunctionName, api));
  const scoped = (p: Json) => p.Principal === "cloudfront.amazonaws.com" && distributionArn(t).test(p.SourceArn?.["Fn::Sub"] ?? "");
  const url = permissions.filter((p) => p.Action === "lambda:InvokeFunctionUrl" && scoped(p) && p.FunctionUrlAuthType === "AWS_IAM");
  const invoke = permissions.filter((p) => p.Action === "lambda:InvokeFunction" && scoped(p) && p.InvokedViaFunctionUrl === true);
  assert.equal(url.length, 1, "lambda:InvokeFunctionUrl for the distribution");
  assert.equal(invoke.length, 1, "lambda:InvokeFunction with InvokedViaFunctionUrl for the distribution");
}

function origin(t: Template, behavior: Json): Json {
  const config = only(t, "AWS::CloudFront::Distribution")[1].Properties.DistributionConfig;
  const found = config.Origins.find((o: Json) => o.Id === behavior.TargetOriginId);
  assert.ok(found, `origin ${behavior.TargetOriginId}`);
  return found;
}
function oac(t: Template, origin: Json, type: string): void {
  const control = t.Resources[getAttOf(origin.OriginAccessControlId) ?? ""]?.Properties.OriginAccessControlConfig;
  assert.equal(control?.OriginAccessControlOriginType, type, `${origin.Id}: OAC of type ${type}`);
  assert.equal(control.SigningBehavior, "always");
  assert.equal(control.SigningProtocol, "sigv4");
}
const behaviors = (t: Template): Json[] => only(t, "AWS::CloudFront::Distribution")[1].Properties.DistributionConfig.CacheBehaviors ?? [];

export function checkApiBehavior(t: Template): void {
  const api = behaviors(t).find((b) => b.PathPattern === "/api/*");
  assert.ok(api, "a /api/* behavior");
  const target = origin(t, api);
  assert.equal(
    getAttOf(target.DomainName?.["Fn::Select"]?.[1]?.["Fn::Split"]?.[1]),
    `${apiFunctionId(t)}Url`,
    "/api/* goes to the Function URL",
  );
  oac(t, target, "lambda");
  assert.equal(api.CachePolicyId, CACHING_DISABLED);
  assert.equal(api.OriginRequestPolicyId, ALL_VIEWER_EXCEPT_HOST_HEADER, "never forward Host to the Function URL");
  assert.equal(api.Compress, false, "compression buffers SSE");
  assert.ok(target.CustomOriginConfig.OriginReadTimeout >= 60, "room for a slow first token");
  assert.deepEqual(api.AllowedMethods.toSorted(), ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]);
  assert.deepEqual(api.LambdaFunctionAssociations, [
    { EventType: "viewer-request", IncludeBody: true, LambdaFunctionARN: { Ref: "EdgeFunctionVersionArn" } },
  ]);
}

export function checkBucketsBehindCloudFront(t: Template): void {
  const config = only(t, "AWS::CloudFront::Distribution")[1].Properties.DistributionConfig;
  const media = behaviors(t).find((b) => b.PathPattern === "/media/*");
  assert.ok(media, "a /media/* behavior");
  for (const behavior of [config.DefaultCacheBehavior, media]) {
    const target = origin(t, behavior);
    oac(t, target, "s3");
    assert.deepEqual(target.S3OriginConfig, { OriginAccessIdentity: "" }, "OAC, not a legacy OAI");
    const bucket = getAttOf(target.DomainName)!;
    const block = t.Resources[bucket].Properties.PublicAccessBlockConfiguration;
    assert.deepEqual(block, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const [, policy] = ofType(t, "AWS::S3::BucketPolicy").find(([, p]) => isRef(p.Properties.Bucket, bucket)) ?? [];
    for (const statement of policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === "Allow")) {
      assert.deepEqual(statement.Principal, { Service: "cloudfront.amazonaws.com" });
      assert.match(statement.Condition.StringEquals["AWS:SourceArn"]["Fn::Sub"], distributionArn(t));
    }
  }
}

/** Paths the SPA routing must treat as the local front server does (backend/local/front.ts). */
const SPA_PATHS = ["/", "/s/abc_DEF-123", "/p/q3Zx", "/chats/a1/b2", "/index.html", "/assets/app-X1.js", "/favicon.svg", "/config.json"];

/**
 * Issue 16: client routes fall back to index.html through the CloudFront Function on the
 * default behaviour only — never distribution-wide custom error responses, which would also
 * replace the API's JSON 404s — and it rewrites exactly the paths the local server does.
 */
export function checkSpaFallback(t: Template): void {
  const config = only(t, "AWS::CloudFront::Distribution")[1].Properties.DistributionConfig;
  assert.equal(config.CustomErrorResponses, undefined, "no CustomErrorResponses: they would rewrite the API's errors too");
  const fallback = config.DefaultCacheBehavior.FunctionAssociations ?? [];
  assert.equal(fallback.length, 1, "one function on the default behaviour");
  assert.equal(fallback[0].EventType, "viewer-request");
  const id = getAttOf(fallback[0].FunctionARN)!;
  for (const behavior of behaviors(t)) {
    const used = (behavior.FunctionAssociations ?? []).map((a: Json) => getAttOf(a.FunctionARN));
    assert.ok(!used.includes(id), `${behavior.PathPattern} must not route to the SPA`);
  }
  const code = t.Resources[id]?.Properties.FunctionCode as string;
  const rewrite = (uri: string) => runInNewContext(`${code}; handler({ request: { uri: ${JSON.stringify(uri)} } }).uri`);
  for (const path of SPA_PATHS) assert.equal(rewrite(path), isClientRoute(path) ? "/index.html" : path, path);
}

/** The SPA's responses carry web/csp.ts's deployed Content-Security-Policy (no inline script). */
export function checkSiteHeaders(t: Template): void {
  const config = only(t, "AWS::CloudFront::Distribution")[1].Properties.DistributionConfig;
  const id = config.DefaultCacheBehavior.ResponseHeadersPolicyId?.Ref;
  const policy = t.Resources[id]?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
  assert.ok(policy, "a response headers policy on the default behaviour");
  assert.equal(policy.ContentSecurityPolicy.ContentSecurityPolicy, contentSecurityPolicy({ google: true }));
  assert.equal(policy.ContentSecurityPolicy.Override, true);
  assert.deepEqual(policy.ContentTypeOptions, { Override: true });
}

export function checkTable(t: Template): void {
  const table = only(t, "AWS::DynamoDB::Table")[1].Properties;
  assert.equal(table.BillingMode, "PAY_PER_REQUEST");
  assert.deepEqual(table.KeySchema, [
    { AttributeName: "PK", KeyType: "HASH" },
    { AttributeName: "SK", KeyType: "RANGE" },
  ]);
  const gsi1 = table.GlobalSecondaryIndexes.find((i: Json) => i.IndexName === "GSI1");
  assert.deepEqual(gsi1.KeySchema, [
    { AttributeName: "GSI1PK", KeyType: "HASH" },
    { AttributeName: "GSI1SK", KeyType: "RANGE" },
  ]);
  assert.deepEqual(gsi1.Projection, { ProjectionType: "KEYS_ONLY" }, "as the local table (backend/local/provision.ts)");
  assert.deepEqual(table.TimeToLiveSpecification, { AttributeName: "expiresAt", Enabled: true });
  assert.equal(table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true);
  const onInProd = table.DeletionProtectionEnabled?.["Fn::If"];
  assert.ok(Array.isArray(onInProd), "deletion protection depends on the environment");
  const condition = onInProd[0];
  assert.deepEqual(onInProd, [condition, true, false]);
  assert.deepEqual(t.Conditions[condition], { "Fn::Equals": [{ Ref: "EnvironmentName" }, "prod"] });
}

export function checkQueues(t: Template): void {
  const dlqs = new Set(
    ofType(t, "AWS::SQS::Queue")
      .map(([, q]) => getAttOf(q.Properties.RedrivePolicy?.deadLetterTargetArn))
      .filter(Boolean),
  );
  for (const [id, queue] of ofType(t, "AWS::SQS::Queue")) {
    const props = queue.Properties;
    if (dlqs.has(id)) {
      assert.equal(props.MessageRetentionPeriod, FOURTEEN_DAYS, `${id}: a DLQ keeps messages 14 days`);
      continue;
    }
    assert.ok(props.RedrivePolicy, `${id} has a DLQ`);
    assert.equal(props.RedrivePolicy.maxReceiveCount, MAX_RECEIVE_COUNT, `${id}: maxReceiveCount`);
    const consumers = workerIds(t).filter((w) => sqsEvents(fn(t, w)).some((e) => getAttOf(e.Properties.Queue) === id));
    assert.equal(consumers.length, 1, `${id} has one consumer`);
    const timeout = fn(t, consumers[0]!).Timeout ?? LAMBDA_DEFAULT_TIMEOUT;
    assert.ok(props.VisibilityTimeout >= WORKER_VISIBILITY_FACTOR * timeout, `${id}: visibility ≥ 6 × ${timeout} s`);
  }
  assert.equal(t.Globals.Function.Environment.Variables.MAX_RECEIVE_COUNT, String(MAX_RECEIVE_COUNT));
}

export function checkWorkers(t: Template): void {
  const queueWorkers = workerIds(t).filter((id) => sqsEvents(fn(t, id)).length > 0);
  assert.equal(queueWorkers.length, 3, "a synthesis, an image and a lifecycle (deletion) worker");
  for (const id of workerIds(t)) {
    const worker = fn(t, id);
    assert.equal(worker.FunctionUrlConfig, undefined, `${id}: no Function URL (no streaming invoke mode)`);
    const lwa = Object.keys(worker.Environment.Variables).filter((v) => v.startsWith("AWS_LWA_") || v === "AWS_LAMBDA_EXEC_WRAPPER");
    assert.deepEqual(lwa, [], `${id} runs buffered, without the web adapter`);
    assert.equal(worker.Handler, "index.handler");
  }
  for (const id of queueWorkers) {
    assert.equal(fn(t, id).Timeout, 30, `${id}: 30 s timeout`);
    for (const event of sqsEvents(fn(t, id))) {
      const p = event.Properties;
      assert.deepEqual(p.FunctionResponseTypes, ["ReportBatchItemFailures"], `${id}: partial batch responses`);
      assert.ok(Number.isInteger(p.BatchSize) && p.BatchSize >= 1, `${id}: BatchSize`);
      assert.ok(Number.isInteger(p.MaximumBatchingWindowInSeconds), `${id}: MaximumBatchingWindowInSeconds`);
      assert.ok(p.ScalingConfig?.MaximumConcurrency >= 2, `${id}: MaximumConcurrency`);
    }
  }
  const schedules = workerIds(t).flatMap((id) => Object.values(fn(t, id).Events ?? {}).filter((e: Json) => e.Type === "Schedule"));
  assert.deepEqual(
    schedules.map((e: Json) => e.Properties.Schedule),
    ["rate(5 minutes)"],
    "the sweeper every 5 minutes",
  );
}

export function checkLogsAndIam(t: Template): void {
  assert.equal(t.Parameters.AppSecretArn.Default, undefined, "the secret's ARN has no default");
  for (const [id] of ofType(t, "AWS::Serverless::Function")) {
    const props = fn(t, id);
    const logGroup = t.Resources[props.LoggingConfig?.LogGroup?.Ref ?? ""];
    assert.ok(logGroup?.Properties.RetentionInDays, `${id} logs to a group with retention`);
    const role = t.Resources[getAttOf(props.Role) ?? ""];
    assert.equal(role?.Type, "AWS::IAM::Role", `${id} has its own explicit role`);
    assert.equal(role.Properties.ManagedPolicyArns, undefined, `${id}: no managed policies`);
    for (const policy of role.Properties.Policies) {
      for (const s of policy.PolicyDocument.Statement) {
        const actions = [s.Action].flat();
        assert.ok(!actions.some((a: string) => a.includes("*") || a === "dynamodb:Scan"), `${id}: ${actions.join(",")}`);
        assert.ok(![s.Resource].flat().includes("*"), `${id}: a statement on every resource`);
        if (actions.includes("secretsmanager:GetSecretValue")) assert.deepEqual(s.Resource, { Ref: "AppSecretArn" });
      }
    }
  }
}

/** Every IAM statement of a function's role, with its actions as a list. */
function statementsOf(t: Template, id: string): { actions: string[]; resources: Json[]; condition?: Json }[] {
  const role = t.Resources[getAttOf(fn(t, id).Role) ?? ""];
  return role.Properties.Policies.flatMap((p: Json) =>
    p.PolicyDocument.Statement.map((s: Json) => ({ actions: [s.Action].flat(), resources: [s.Resource].flat(), condition: s.Condition })),
  );
}

const functionsGranting = (t: Template, action: string) =>
  ofType(t, "AWS::Serverless::Function")
    .map(([id]) => id)
    .filter((id) => statementsOf(t, id).some((s) => s.actions.includes(action)))
    .sort();

/**
 * Issue 14: deleting is granted only where deletions run: DynamoDB deletes to the API
 * (small deletions inside the request) and the lifecycle worker; S3 deletes also to the
 * image worker (a replaced or orphaned portrait), only under the portrait prefixes; listing
 * only those prefixes; CloudFront reads public copies only, never a private portrait.
 */
export function checkDataLifecycle(t: Template): void {
  for (const action of ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"])
    assert.deepEqual(functionsGranting(t, action), ["ApiFunction", "LifecycleFunction"], action);
  assert.deepEqual(functionsGranting(t, "s3:DeleteObject"), ["ApiFunction", "ImageFunction", "LifecycleFunction"], "s3:DeleteObject");
  for (const [id] of ofType(t, "AWS::Serverless::Function")) {
    for (const s of statementsOf(t, id)) {
      const objects = s.resources.map((r) => String(r?.["Fn::Sub"] ?? ""));
      if (s.actions.includes("s3:DeleteObject"))
        for (const r of objects)
          assert.match(r, /^\$\{MediaBucket\.Arn\}\/(private|public)\/portraits\/\*$/, `${id}: deletes only portraits`);
      if (s.actions.includes("s3:ListBucket"))
        assert.deepEqual(
          s.condition?.StringLike?.["s3:prefix"],
          ["private/portraits/*", "public/portraits/*"],
          `${id}: lists only portraits`,
        );
    }
  }
  const [, policy] = ofType(t, "AWS::S3::BucketPolicy").find(([, p]) => isRef(p.Properties.Bucket, "MediaBucket")) ?? [];
  const reads = policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === "Allow");
  assert.deepEqual(
    reads.map((s: Json) => s.Resource["Fn::Sub"]),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JavaScript template
    ["${MediaBucket.Arn}/public/*"],
    "CloudFront reads public copies only",
  );
  assert.ok(fn(t, "LifecycleFunction").Environment.Variables.LIFECYCLE_QUEUE_URL, "every function knows the lifecycle queue");
}

export const TEMPLATE_CHECKS = {
  checkApiFunction,
  checkInvokePermissions,
  checkApiBehavior,
  checkBucketsBehindCloudFront,
  checkSpaFallback,
  checkSiteHeaders,
  checkTable,
  checkQueues,
  checkWorkers,
  checkLogsAndIam,
  checkDataLifecycle,
} as const;
