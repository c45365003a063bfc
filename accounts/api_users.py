"""Users and invitations API (HR and Admin), accepting an invitation, password reset and change."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.links import tenant_link_base
from accounts.models import Invitation
from accounts.selectors import invitation_get, invitation_list, user_get, user_list, user_role_names
from accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    password_change,
    password_reset_confirm,
    password_reset_request,
    user_deactivate,
    user_reactivate,
    user_role_set,
)
from core.fields import Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.roles import ROLES, IsHROrAdmin

INVITATION_STATUSES = ("pending", "expired", "accepted", "revoked")


class UserOutputSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    roles = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)
    date_joined = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ROLES)))
    def get_roles(self, user: User) -> list[str]:
        return user_role_names(user)


class InvitationOutputSerializer(serializers.Serializer[Invitation]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.ChoiceField(choices=INVITATION_STATUSES)
    employee_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class UserListApi(APIView):
    permission_classes = [IsHROrAdmin]
    pagination_class = DefaultPagination

    class UserListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        active = serializers.BooleanField(required=False)
        role = serializers.ChoiceField(choices=ROLES, required=False)
        search = Text(max_length=150, required=False)

    @extend_schema(parameters=[UserListFilterSerializer], responses={200: UserOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """The tenant's logins with their roles, by username."""
        filters = query_validate(self.UserListFilterSerializer, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(user_list(**filters), request, view=self)
        return paginator.get_paginated_response(UserOutputSerializer(cast(Any, page), many=True).data)


class UserDetailApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request: Request, user_id: int) -> Response:
        return Response(UserOutputSerializer(user_get(user_id=user_id)).data)


class UserDeactivateApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(request=None, responses={200: UserOutputSerializer})
    def post(self, request: Request, user_id: int) -> Response:
        """The login stops working at once (sessions and API tokens, in every process). The last active Admin
        cannot be deactivated (409)."""
        user = user_deactivate(actor=request.user, user=user_get(user_id=user_id))
        return Response(UserOutputSerializer(user_get(user_id=user.pk)).data)


class UserReactivateApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(request=None, responses={200: UserOutputSerializer})
    def post(self, request: Request, user_id: int) -> Response:
        user = user_reactivate(actor=request.user, user=user_get(user_id=user_id))
        return Response(UserOutputSerializer(user_get(user_id=user.pk)).data)


class UserRoleApi(APIView):
    permission_classes = [IsHROrAdmin]

    class UserRoleInputSerializer(serializers.Serializer[dict[str, Any]]):
        role = serializers.ChoiceField(choices=ROLES)

    @extend_schema(request=UserRoleInputSerializer, responses={200: UserOutputSerializer})
    def put(self, request: Request, user_id: int) -> Response:
        """The user's role becomes this one (only an Admin gives or takes the Admin role; the last active Admin
        keeps it: 409)."""
        user = user_get(user_id=user_id)
        data = self.UserRoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_role_set(actor=request.user, user=user, role=data.validated_data["role"])
        return Response(UserOutputSerializer(user_get(user_id=user.pk)).data)


class InvitationListApi(APIView):
    permission_classes = [IsHROrAdmin]
    pagination_class = DefaultPagination

    class InvitationListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        status = serializers.ChoiceField(choices=INVITATION_STATUSES, required=False)

    class InvitationCreateInputSerializer(serializers.Serializer[dict[str, Any]]):
        email = serializers.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=ROLES)

    @extend_schema(parameters=[InvitationListFilterSerializer], responses={200: InvitationOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = query_validate(self.InvitationListFilterSerializer, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(invitation_list(**filters), request, view=self)
        return paginator.get_paginated_response(InvitationOutputSerializer(cast(Any, page), many=True).data)

    @extend_schema(request=InvitationCreateInputSerializer, responses={201: InvitationOutputSerializer})
    def post(self, request: Request) -> Response:
        """Invite an address with a role: a one-time link, valid for INVITATION_VALID_HOURS, is e-mailed. An
        address that already has a login is a 409; an open invitation of the address is sent again."""
        data = self.InvitationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitation_create(actor=request.user, link_base=tenant_link_base(request), **data.validated_data)
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationResendApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(request=None, responses={200: InvitationOutputSerializer})
    def post(self, request: Request, invitation_id: str) -> Response:
        """A new link with a new expiry (the previous link stops working); 409 when accepted or revoked."""
        invitation = invitation_get(invitation_id=invitation_id)
        invitation = invitation_resend(actor=request.user, invitation=invitation, link_base=tenant_link_base(request))
        return Response(InvitationOutputSerializer(invitation).data)


class InvitationRevokeApi(APIView):
    permission_classes = [IsHROrAdmin]

    @extend_schema(request=None, responses={200: InvitationOutputSerializer})
    def post(self, request: Request, invitation_id: str) -> Response:
        invitation = invitation_revoke(actor=request.user, invitation=invitation_get(invitation_id=invitation_id))
        return Response(InvitationOutputSerializer(invitation).data)


class InvitationAcceptApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InvitationAcceptInputSerializer(serializers.Serializer[dict[str, Any]]):
        token = Text(max_length=128)
        password = Text(max_length=256, trim_whitespace=False)

    class InvitationAcceptOutputSerializer(serializers.Serializer[dict[str, Any]]):
        username = serializers.CharField()

    @extend_schema(request=InvitationAcceptInputSerializer, responses={201: InvitationAcceptOutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        """Create the invited login with this password. A used, revoked, expired or unknown link is a 400 on
        `token`; a weak password a 400 on `password`."""
        data = self.InvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = invitation_accept(**data.validated_data)
        output = self.InvitationAcceptOutputSerializer({"username": user.get_username()})
        return Response(output.data, status=status.HTTP_201_CREATED)


class PasswordResetApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class PasswordResetInputSerializer(serializers.Serializer[dict[str, Any]]):
        email = serializers.EmailField(max_length=254)

    class PasswordResetOutputSerializer(serializers.Serializer[dict[str, Any]]):
        detail = serializers.CharField()

    @extend_schema(request=PasswordResetInputSerializer, responses={202: PasswordResetOutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        """E-mail a reset link to the login with this address, on this tenant's host. The answer is the same
        whether or not such a login exists."""
        data = self.PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(email=data.validated_data["email"], link_base=tenant_link_base(request))
        body = {"detail": "If a login has this address, a link to reset its password is on its way."}
        return Response(self.PasswordResetOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class PasswordResetConfirmInputSerializer(serializers.Serializer[dict[str, Any]]):
        uid = Text(max_length=64)
        token = Text(max_length=128)
        password = Text(max_length=256, trim_whitespace=False)

    class PasswordResetConfirmOutputSerializer(serializers.Serializer[dict[str, Any]]):
        username = serializers.CharField()

    @extend_schema(
        request=PasswordResetConfirmInputSerializer, responses={200: PasswordResetConfirmOutputSerializer}, auth=[]
    )
    def post(self, request: Request) -> Response:
        data = self.PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = password_reset_confirm(**data.validated_data)
        return Response(self.PasswordResetConfirmOutputSerializer({"username": user.get_username()}).data)


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    class PasswordChangeInputSerializer(serializers.Serializer[dict[str, Any]]):
        old_password = Text(max_length=256, trim_whitespace=False)
        new_password = Text(max_length=256, trim_whitespace=False)

    class PasswordChangeOutputSerializer(serializers.Serializer[dict[str, Any]]):
        username = serializers.CharField()

    @extend_schema(request=PasswordChangeInputSerializer, responses={200: PasswordChangeOutputSerializer})
    def post(self, request: Request) -> Response:
        """Change one's own password (the current one is asked for; Django's validators apply)."""
        data = self.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = password_change(user=cast(User, request.user), **data.validated_data)
        if request._request.session.session_key is not None:
            update_session_auth_hash(request._request, user)
        return Response(self.PasswordChangeOutputSerializer({"username": user.get_username()}).data)
