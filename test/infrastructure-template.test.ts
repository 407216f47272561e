/**
 * The SAM templates: they parse with CloudFormation's intrinsic tags, validate against AWS's
 * SAM JSON schema, and hold every property issue 7 asks for. Each check is then run on a
 * copy with one plausible mistake in it, and must fail: a check that passes a broken
 * template guards nothing.
 */
import assert from "node:assert/strict";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { BUNDLES, EDGE_TARGET } from "../scripts/build.ts";
import { ROOT, parseTemplate, samSchemaErrors, type Json, type Template } from "./support/sam-template.ts";
import * as checks from "./support/template-checks.ts";
import { TEMPLATE_CHECKS, fn, ofType } from "./support/template-checks.ts";

const main = parseTemplate("infrastructure/template.yaml");
const edge = parseTemplate("infrastructure/edge-auth/template.yaml");

describe("parsing and AWS's SAM schema", () => {
  test("both templates validate", () => {
    assert.deepEqual(samSchemaErrors(main), []);
    assert.deepEqual(samSchemaErrors(edge), []);
  });

  test("short-form tags become their long forms", () => {
    assert.deepEqual(main.Resources.ApiFunction.Properties.Role, { "Fn::GetAtt": ["ApiRole", "Arn"] });
    assert.deepEqual(main.Conditions.HasDomain, { "Fn::Not": [{ "Fn::Equals": [{ Ref: "DomainName" }, ""] }] });
  });

  test("the schema is really applied: a misspelt SAM property is an error", () => {
    const copy = structuredClone(main);
    copy.Resources.ApiFunction.Properties.FunctionUrlConfig.InvokeMod = "RESPONSE_STREAM";
    assert.notDeepEqual(samSchemaErrors(copy), []);
  });
});

describe("the main template holds issue 7's properties", () => {
  for (const [name, check] of Object.entries(TEMPLATE_CHECKS)) test(name, () => check(main));

  test("every CodeUri is a bundle directory `npm run build` writes", () => {
    const dirs = new Set(BUNDLES.map((b) => join("dist", b.name)));
    for (const template of [
      ["infrastructure", main],
      ["infrastructure/edge-auth", edge],
    ] as const) {
      for (const [id, r] of ofType(template[1], "AWS::Serverless::Function")) {
        const dir = relative(ROOT, resolve(ROOT, template[0], r.Properties.CodeUri));
        assert.ok(dirs.has(dir), `${id}: ${dir}`);
      }
    }
  });
});

describe("the edge stack", () => {
  const viewerRequest = () => fn(edge, "ViewerRequestFunction");

  test("a Lambda@Edge-compatible function: runtime matches the bundle's target, x86_64, 128 MB, 5 s, no env", () => {
    const f = viewerRequest();
    assert.equal(f.Runtime, "nodejs22.x");
    assert.equal(`node${/^nodejs(\d+)\.x$/.exec(f.Runtime)?.[1]}`, EDGE_TARGET);
    assert.deepEqual(f.Architectures, ["x86_64"]);
    assert.ok(f.MemorySize <= 128 && f.Timeout <= 5);
    assert.deepEqual(f.Environment.Variables, {}, "Lambda@Edge has no environment variables");
    assert.equal(f.Layers, undefined, "nor layers");
  });

  test("publishes a numbered version, assumable by edgelambda, exported for the main stack", () => {
    assert.equal(viewerRequest().AutoPublishAlias, "live");
    const role = edge.Resources[viewerRequest().Role["Fn::GetAtt"][0]].Properties;
    assert.deepEqual(role.AssumeRolePolicyDocument.Statement[0].Principal.Service.toSorted(), [
      "edgelambda.amazonaws.com",
      "lambda.amazonaws.com",
    ]);
    assert.deepEqual(edge.Outputs.EdgeFunctionVersionArn.Value, { Ref: "ViewerRequestFunction.Version" });
    assert.deepEqual(edge.Rules.UsEast1Only.Assertions[0].Assert, { "Fn::Equals": [{ Ref: "AWS::Region" }, "us-east-1"] });
  });
});

type Mutation = [mistake: string, check: (t: Template) => void, mutate: (r: Record<string, Json>, t: Template) => void];
const api = (r: Record<string, Json>) => r.ApiFunction.Properties;
const apiBehavior = (r: Record<string, Json>) =>
  r.Distribution.Properties.DistributionConfig.CacheBehaviors.find((b: Json) => b.PathPattern === "/api/*");

// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JavaScript template
const WHOLE_MEDIA_BUCKET = { "Fn::Sub": "${MediaBucket.Arn}/*" };

const MUTATIONS: Mutation[] = [
  ["the InvokeFunction permission is missing", checks.checkInvokePermissions, (r) => delete r.ApiFunctionInvokePermission],
  ["the InvokeFunctionUrl permission is missing", checks.checkInvokePermissions, (r) => delete r.ApiUrlInvokePermission],
  [
    "InvokeFunction without InvokedViaFunctionUrl",
    checks.checkInvokePermissions,
    (r) => delete r.ApiFunctionInvokePermission.Properties.InvokedViaFunctionUrl,
  ],
  [
    "a permission not scoped to the distribution",
    checks.checkInvokePermissions,
    (r) => delete r.ApiUrlInvokePermission.Properties.SourceArn,
  ],
  [
    "Host forwarded (AllViewer origin request policy)",
    checks.checkApiBehavior,
    (r) => (apiBehavior(r).OriginRequestPolicyId = "216adef6-5c7f-47e4-b989-5492eafa07d3"),
  ],
  ["caching on /api/*", checks.checkApiBehavior, (r) => (apiBehavior(r).CachePolicyId = "658327ea-f89d-4fab-a63d-7e88639e58f6")],
  ["compression on /api/*", checks.checkApiBehavior, (r) => (apiBehavior(r).Compress = true)],
  [
    "the edge function without IncludeBody",
    checks.checkApiBehavior,
    (r) => (apiBehavior(r).LambdaFunctionAssociations[0].IncludeBody = false),
  ],
  [
    "OAC signing only when the viewer sent no Authorization",
    checks.checkApiBehavior,
    (r) => (r.ApiOriginAccessControl.Properties.OriginAccessControlConfig.SigningBehavior = "no-override"),
  ],
  [
    "a 30 s origin read timeout",
    checks.checkApiBehavior,
    (r) =>
      (r.Distribution.Properties.DistributionConfig.Origins.find((o: Json) => o.Id === "api").CustomOriginConfig.OriginReadTimeout = 30),
  ],
  ["Function URL AuthType NONE", checks.checkApiFunction, (r) => (api(r).FunctionUrlConfig.AuthType = "NONE")],
  ["RESPONSE_STREAM missing on the API's URL", checks.checkApiFunction, (r) => delete api(r).FunctionUrlConfig.InvokeMode],
  ["the adapter not in streaming mode", checks.checkApiFunction, (r) => (api(r).Environment.Variables.AWS_LWA_INVOKE_MODE = "buffered")],
  ["an x86_64 API with the Arm64 adapter layer", checks.checkApiFunction, (r) => (api(r).Architectures = ["x86_64"])],
  [
    "a streaming Function URL on a worker",
    checks.checkWorkers,
    (r) => (r.SynthesisFunction.Properties.FunctionUrlConfig = { AuthType: "AWS_IAM", InvokeMode: "RESPONSE_STREAM" }),
  ],
  [
    "the web adapter's streaming mode on a worker",
    checks.checkWorkers,
    (r) => (r.ImageFunction.Properties.Environment.Variables.AWS_LWA_INVOKE_MODE = "response_stream"),
  ],
  [
    "a worker without ReportBatchItemFailures",
    checks.checkWorkers,
    (r) => delete r.ImageFunction.Properties.Events.ImageQueue.Properties.FunctionResponseTypes,
  ],
  [
    "a worker without a concurrency cap",
    checks.checkWorkers,
    (r) => delete r.SynthesisFunction.Properties.Events.SynthesisQueue.Properties.ScalingConfig,
  ],
  [
    "the sweeper off its schedule",
    checks.checkWorkers,
    (r) => (r.SweeperFunction.Properties.Events.Every5Minutes.Properties.Schedule = "rate(1 hour)"),
  ],
  [
    "client routes by CustomErrorResponses (they would replace the API's JSON 404s)",
    checks.checkSpaFallback,
    (r) =>
      (r.Distribution.Properties.DistributionConfig.CustomErrorResponses = [
        { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: "/index.html" },
      ]),
  ],
  [
    "the SPA fallback on /api/* too",
    checks.checkSpaFallback,
    (r) => (apiBehavior(r).FunctionAssociations = r.Distribution.Properties.DistributionConfig.DefaultCacheBehavior.FunctionAssociations),
  ],
  [
    "no SPA fallback on the default behaviour",
    checks.checkSpaFallback,
    (r) => delete r.Distribution.Properties.DistributionConfig.DefaultCacheBehavior.FunctionAssociations,
  ],
  [
    "a fallback that rewrites asset paths too",
    checks.checkSpaFallback,
    (r) =>
      (r.SpaRoutingFunction.Properties.FunctionCode =
        "function handler(event) { event.request.uri = '/index.html'; return event.request; }"),
  ],
  [
    "inline script allowed by the site's CSP",
    checks.checkSiteHeaders,
    (r) =>
      (r.SiteHeadersPolicy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'"),
  ],
  [
    "no headers policy on the SPA",
    checks.checkSiteHeaders,
    (r) => delete r.Distribution.Properties.DistributionConfig.DefaultCacheBehavior.ResponseHeadersPolicyId,
  ],
  ["a DLQ-less queue", checks.checkQueues, (r) => delete r.SynthesisQueue.Properties.RedrivePolicy],
  ["visibility timeout < 6 × the worker's timeout", checks.checkQueues, (r) => (r.ImageQueue.Properties.VisibilityTimeout = 179)],
  ["a worker timeout raised past its queue's visibility / 6", checks.checkQueues, (r) => (r.SynthesisFunction.Properties.Timeout = 31)],
  ["maxReceiveCount other than 5", checks.checkQueues, (r) => (r.ImageQueue.Properties.RedrivePolicy.maxReceiveCount = 10)],
  ["a DLQ keeping messages 4 days", checks.checkQueues, (r) => delete r.SynthesisDeadLetterQueue.Properties.MessageRetentionPeriod],
  [
    "no point-in-time recovery",
    checks.checkTable,
    (r) => (r.Table.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled = false),
  ],
  ["deletion protection never on", checks.checkTable, (r) => (r.Table.Properties.DeletionProtectionEnabled = false)],
  ["provisioned capacity", checks.checkTable, (r) => (r.Table.Properties.BillingMode = "PROVISIONED")],
  [
    "a media bucket open to the public",
    checks.checkBucketsBehindCloudFront,
    (r) => (r.MediaBucket.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets = false),
  ],
  [
    "media readable by anyone, not just the distribution",
    checks.checkBucketsBehindCloudFront,
    (r) => (r.MediaBucketPolicy.Properties.PolicyDocument.Statement[0].Principal = "*"),
  ],
  [
    "a Scan grant",
    checks.checkLogsAndIam,
    (r) => r.ApiRole.Properties.Policies[0].PolicyDocument.Statement[1].Action.push("dynamodb:Scan"),
  ],
  [
    "the secret readable on every resource",
    checks.checkLogsAndIam,
    (r) => (r.SweeperRole.Properties.Policies[0].PolicyDocument.Statement.at(-1).Resource = "*"),
  ],
  ["a log group without retention", checks.checkLogsAndIam, (r) => delete r.ImageLogGroup.Properties.RetentionInDays],
  [
    "DeleteItem for the synthesis worker",
    checks.checkDataLifecycle,
    (r) => r.SynthesisRole.Properties.Policies[0].PolicyDocument.Statement[1].Action.push("dynamodb:DeleteItem"),
  ],
  [
    "BatchWriteItem for the sweeper",
    checks.checkDataLifecycle,
    (r) => r.SweeperRole.Properties.Policies[0].PolicyDocument.Statement[1].Action.push("dynamodb:BatchWriteItem"),
  ],
  [
    "s3:DeleteObject on the whole bucket",
    checks.checkDataLifecycle,
    (r) =>
      r.LifecycleRole.Properties.Policies[0].PolicyDocument.Statement.find((s: Json) => s.Action === "s3:DeleteObject").Resource.push(
        WHOLE_MEDIA_BUCKET,
      ),
  ],
  [
    "listing the whole media bucket",
    checks.checkDataLifecycle,
    (r) => delete r.ApiRole.Properties.Policies[0].PolicyDocument.Statement.find((s: Json) => s.Action === "s3:ListBucket").Condition,
  ],
  [
    "CloudFront reading private portraits",
    checks.checkDataLifecycle,
    (r) => (r.MediaBucketPolicy.Properties.PolicyDocument.Statement[0].Resource = WHOLE_MEDIA_BUCKET),
  ],
  [
    "a default for the secret's ARN",
    checks.checkLogsAndIam,
    (_, t) => (t.Parameters.AppSecretArn.Default = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x"),
  ],
];

describe("each check catches the mistake it exists for", () => {
  for (const [mistake, check, mutate] of MUTATIONS) {
    test(`${mistake} → ${check.name} fails`, () => {
      // Prepare
      const copy = structuredClone(main);
      assert.doesNotThrow(() => check(copy));
      // Act
      mutate(copy.Resources, copy);
      // Assess
      assert.throws(() => check(copy), assert.AssertionError);
    });
  }
});
