// The hand-written wire types (src/contract/wire-types.ts) match the model: each key table below
// is checked by the compiler to list exactly the interface's members, and by this test to list
// exactly the model's elements (base members first) in sequence order.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { contractFor } from '../../src/contract/index.js';
import { loadWsdlContract, type WsdlContract } from '../../src/soap/wsdl-contract.js';
import type * as W from '../../src/contract/index.js';

type Keys<T> = Record<keyof T, 1>;
type Values<U extends string> = Record<U, 1>;
const carrier = { TableRight: 1, FieldProperties: 1 } as const;

const COMPLEX: Record<string, Record<string, 1>> = {
  Webhook: {
    WebhookId: 1, Name: 1, Events: 1, TargetUrl: 1, Secret: 1, State: 1, Type: 1, Headers: 1, Properties: 1,
    Registered: 1, RegisteredAssociate: 1, Updated: 1, UpdatedAssociate: 1, ErrorsEmail: 1, ErrorEmails: 1,
    ErrorAssociates: 1, Description: 1, NotifyVia: 1, NotifyWhen: 1, TotalCalls: 1, TotalErrors: 1,
    ConsecutiveErrors: 1, LastError: 1,
  } satisfies Keys<W.WebhookWire>,
  Associate: {
    ...carrier, AssociateId: 1, Name: 1, PersonId: 1, Rank: 1, Tooltip: 1, Type: 1, GroupIdx: 1, FullName: 1,
    FormalName: 1, Deleted: 1, EjUserId: 1, UserName: 1, ExtraFields: 1, CustomFields: 1,
  } satisfies Keys<W.AssociateWire>,
  MDOListItem: {
    ...carrier, Id: 1, Name: 1, ToolTip: 1, Deleted: 1, Rank: 1, Type: 1, ChildItems: 1, IconHint: 1,
    ColorBlock: 1, ExtraInfo: 1, StyleHint: 1, FullName: 1,
  } satisfies Keys<W.MDOListItemWire>,
  WebhookResult: { ...carrier, Success: 1, Message: 1 } satisfies Keys<W.WebhookResultWire>,
  TableRight: { Mask: 1, Reason: 1 } satisfies Keys<W.TableRightWire>,
  FieldRight: { Mask: 1, Reason: 1 } satisfies Keys<W.FieldRightWire>,
  FieldProperty: { FieldRight: 1, FieldType: 1, FieldLength: 1 } satisfies Keys<W.FieldPropertyWire>,
  SoExceptionInfo: {
    Message: 1, StackTrace: 1, FriendlyText: 1, ExceptionType: 1, Source: 1, InnerException: 1, Parameters: 1,
  } satisfies Keys<W.SoExceptionInfoWire>,
  SoTimeZone: { SoTimeZoneId: 1, SoTimeZoneLocationCode: 1 } satisfies Keys<W.SoTimeZoneWire>,
  SoCredentials: { Ticket: 1 } satisfies Keys<W.SoCredentialsWire>,
  SoPrincipalCarrier: {
    UserType: 1, Associate: 1, AssociateId: 1, IsPerson: 1, PersonId: 1, CountryId: 1, HomeCountryId: 1,
    ContactId: 1, GroupId: 1, BusinessId: 1, CategoryId: 1, ContactOwner: 1, RoleId: 1, RoleName: 1,
    RoleDescription: 1, RoleType: 1, Licenses: 1, FullName: 1, EMailAddress: 1, FunctionRights: 1, EjUserId: 1,
    EjAccessLevel: 1, EjUserStatus: 1, ProvidedCredentials: 1, SecondaryGroups: 1, DatabaseContextIdentifier: 1,
  } satisfies Keys<W.SoPrincipalCarrierWire>,
  GrantedModuleLicense: {
    ...carrier, OwnerId: 1, OwnerName: 1, OwnerDescription: 1, ModuleId: 1, Name: 1, Description: 1, Version: 1,
    LicenseType: 1, ExtraFlags: 1, SortOrder: 1, LicenseNumber: 1, IsHidden: 1, IsUnrestricted: 1, ExpiryDate: 1,
  } satisfies Keys<W.GrantedModuleLicenseWire>,
  ProvidedCredential: { Type: 1, SearchName: 1, DisplayName: 1, CredentialId: 1 } satisfies Keys<W.ProvidedCredentialWire>,
  SoSystemInfoCarrier: {
    ...carrier, License: 1, WarningEnglish: 1, WarningResource: 1, BranchName: 1, BuildLabel: 1, AssemblyVersion: 1,
    AccumulatedNextCheckDate: 1, FileVersion: 1, Description: 1, DaysUntilNetServerExpiry: 1, BuildType: 1,
    DatabaseVersion: 1, IsUnicode: 1, CompanyName: 1, CompanyId: 1, DatabaseType: 1, DatabaseMinor: 1,
    DatabaseName: 1, IsOnTravel: 1, IsSatellite: 1,
  } satisfies Keys<W.SoSystemInfoCarrierWire>,
  LicenseInfo: {
    CompanyName: 1, SerialNr: 1, OwnerName: 1, OwnerDescription: 1, NextCheckDate: 1, MaintenanceDate: 1,
    AdminWarningDate: 1, ExpiryDate: 1, GraceDate: 1, ExtraFlags: 1, LicenseUrl: 1, LicenseVersion: 1,
    DeploymentType: 1, ProductType: 1, ProductDescription: 1, ModuleLicenses: 1, PublicKey: 1, Signature: 1,
  } satisfies Keys<W.LicenseInfoWire>,
  ModuleLicense: {
    OwnerName: 1, ModuleName: 1, ModuleDescription: 1, ModuleTooltip: 1, ModuleVersion: 1, LicenseType: 1,
    Unrestricted: 1, AllowedUserType: 1, NumberOfLicenses: 1, ExtraFlags: 1, ExtraInfo: 1, SortOrder: 1,
    IsHidden: 1, PrerequisiteModuleName: 1, Signature: 1,
  } satisfies Keys<W.ModuleLicenseWire>,
  SignedPublicKey: { OwnerName: 1, SignDate: 1, ExpiryDate: 1, Key: 1, Signature: 1 } satisfies Keys<W.SignedPublicKeyWire>,
  DSAParameters: { Counter: 1, G: 1, J: 1, P: 1, Q: 1, Seed: 1, Y: 1 } satisfies Keys<W.DSAParametersWire>,
};

const ENUMS: Record<string, Record<string, 1>> = {
  WebhookState: { Unknown: 1, Active: 1, Stopped: 1, TooManyErrors: 1 } satisfies Values<W.WebhookStateWire>,
  WebhookNotifyVia: { Email: 1, InApp: 1 } satisfies Values<W.WebhookNotifyViaWire[number]>,
  WebhookNotifyWhen: { FirstFailure: 1, Disabling: 1 } satisfies Values<W.WebhookNotifyWhenWire[number]>,
  UserType: {
    Unknown: 1, InternalAssociate: 1, ResourceAssociate: 1, ExternalAssociate: 1, AnonymousAssociate: 1,
    SystemAssociate: 1,
  } satisfies Values<W.UserTypeWire>,
  ETableRight: {
    Select: 1, Update: 1, Insert: 1, Delete: 1, Filtering: 1, RestrictedUpdate: 1, Unused1: 1, Uninitialized: 1,
    R: 1, F: 1,
  } satisfies Values<W.ETableRightWire[number]>,
  EFieldRight: {
    Read: 1, Write: 1, Unused1: 1, Unused2: 1, Unused3: 1, Unused4: 1, UIHintMandatory: 1, UIHintReadOnly: 1,
    UndefinedValue256: 1, Nullable: 1,
  } satisfies Values<W.EFieldRightWire[number]>,
  LicenseType: { Unknown: 1, SiteLicense: 1, SatelliteLicense: 1, UserLicense: 1 } satisfies Values<W.LicenseTypeWire>,
  RoleType: { Employee: 1, ExternalUser: 1, Anonymous: 1, System: 1 } satisfies Values<W.RoleTypeWire>,
  EjUserStatus: {
    StatusNone: 1, StatusNormal: 1, StatusNotAvailable: 1, StatusDeleted: 1, StatusReadOnly: 1, StatusSpm: 1,
    StatusSystem: 1,
  } satisfies Values<W.EjUserStatusWire>,
  NetServerBuildType: {
    Feature: 1, Stable: 1, Alpha: 1, Beta: 1, ReleaseCandidate: 1, Release: 1,
  } satisfies Values<W.NetServerBuildTypeWire>,
};

/** Wrapper bodies and headers, checked against the service's global elements (0 Webhook, 1 SoPrincipal). */
const ELEMENTS: Array<[0 | 1, string, Record<string, 1>]> = [
  [0, 'GetAllWebhooks', { NameFilter: 1, EventFilter: 1, StatusFilter: 1 } satisfies Keys<W.WebhookBodiesWire['GetAllWebhooks']>],
  [0, 'SignalEvent', { EventName: 1, PrimaryKey: 1, Data: 1 } satisfies Keys<W.WebhookBodiesWire['SignalEvent']>],
  [1, 'AuthenticateResponse', { Response: 1, Credentials: 1, AuthenticationSucceeded: 1 } satisfies Keys<W.AuthenticateResponseWire>],
  [1, 'AuthenticateUsernamePassword', { UserName: 1, Password: 1 } satisfies Keys<W.SoPrincipalBodiesWire['AuthenticateUsernamePassword']>],
];

// The model node-soap loads from the rendered WSDLs: the one the serializer and the request reader compile from.
let both: WsdlContract[] = [];
before(async () => {
  both = await Promise.all([contractFor('Webhook', 88), contractFor('SoPrincipal', 88)].map((c) => loadWsdlContract(c.wsdlXml)));
});
const typeNamed = (name: string) => both.map((c) => c.model.typeNamed(name)).find((t) => t !== undefined);

test('wire interfaces list the model members in sequence order', () => {
  for (const [name, keys] of Object.entries(COMPLEX)) {
    const t = typeNamed(name);
    assert.ok(t?.kind === 'complex', name);
    assert.deepEqual(Object.keys(keys), t.fields.map((e) => e.name), name);
  }
});

test('wire enum unions list the model values', () => {
  for (const [name, values] of Object.entries(ENUMS)) {
    const t = typeNamed(name);
    assert.ok(t && (t.kind === 'enum' || t.kind === 'list') && t.values, name);
    assert.deepEqual(Object.keys(values), [...t.values], name);
  }
});

test('wire body and header shapes match the global elements', () => {
  for (const [c, element, keys] of ELEMENTS) {
    const body = both[c].model.element(element)?.type;
    assert.ok(body?.kind === 'complex', element);
    assert.deepEqual(Object.keys(keys), body.fields.map((e) => e.name), element);
  }
  const headers = { ExceptionInfo: 1, ExtraInfo: 1, Succeeded: 1, TimeZone: 1 } satisfies Keys<W.ResponseHeadersWire>;
  const request = { ApplicationToken: 1, Credentials: 1, TimeZone: 1 } satisfies Keys<W.RequestHeadersWire>;
  const op = [...both[0].operations.values()][0];
  assert.deepEqual(Object.keys(headers), op.responseHeaders.map((h) => h.name));
  assert.deepEqual(Object.keys(request), op.requestHeaders.map((h) => h.name));
});
