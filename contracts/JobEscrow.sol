// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// The two ERC-20 calls the escrow makes; tokens that return nothing (old USDT style) are handled too.
interface IERC20Minimal {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// Holds a client's stablecoin payment for one Infernet job until the job's aggregator has checked the result.
/// The client names the provider, the aggregator, the provider's amount, the aggregator's fee and a deadline
/// when it deposits; then exactly one of two things happens, once:
///  - release: the aggregator, before the deadline, pays the provider its amount and itself its fee;
///  - refund: the aggregator at any time (failed verification), or the client after the deadline, returns
///    everything to the client.
/// Nobody can redirect the money: the recipients are fixed at deposit time.
contract JobEscrow {
    enum Status {
        None,
        Deposited,
        Released,
        Refunded
    }

    struct Escrow {
        address client;
        uint64 deadline;
        Status status;
        address provider;
        address aggregator;
        uint128 amount;
        uint128 fee;
    }

    IERC20Minimal public immutable token;
    mapping(bytes32 => Escrow) private escrows;

    event Deposited(
        bytes32 indexed jobId,
        address indexed client,
        address indexed provider,
        address aggregator,
        uint128 amount,
        uint128 fee,
        uint64 deadline
    );
    event Released(bytes32 indexed jobId, address indexed provider, address indexed aggregator, uint128 amount, uint128 fee);
    event Refunded(bytes32 indexed jobId, address indexed client, uint128 total);

    error JobAlreadyExists(bytes32 jobId);
    error UnknownJob(bytes32 jobId);
    error AlreadySettled(bytes32 jobId, Status status);
    error NotAggregator(bytes32 jobId, address caller);
    error NotClientOrAggregator(bytes32 jobId, address caller);
    error DeadlinePassed(bytes32 jobId, uint64 deadline);
    error DeadlineNotReached(bytes32 jobId, uint64 deadline);
    error InvalidDeposit(string reason);
    error TokenTransferFailed(address to, uint256 value);

    constructor(IERC20Minimal token_) {
        token = token_;
    }

    /// Locks amount + fee of the caller's tokens for `jobId` (the caller must have approved that much).
    function deposit(bytes32 jobId, address provider, address aggregator, uint128 amount, uint128 fee, uint64 deadline) external {
        if (escrows[jobId].status != Status.None) revert JobAlreadyExists(jobId);
        if (provider == address(0) || aggregator == address(0)) revert InvalidDeposit("provider and aggregator must be set");
        if (amount == 0) revert InvalidDeposit("amount must be positive");
        if (deadline <= block.timestamp) revert InvalidDeposit("deadline must be in the future");
        escrows[jobId] = Escrow(msg.sender, deadline, Status.Deposited, provider, aggregator, amount, fee);
        emit Deposited(jobId, msg.sender, provider, aggregator, amount, fee, deadline);
        _pull(msg.sender, uint256(amount) + fee);
    }

    /// Pays the provider and the aggregator's fee. Only the job's aggregator, only before the deadline, only once.
    function release(bytes32 jobId) public {
        Escrow storage e = _open(jobId);
        if (msg.sender != e.aggregator) revert NotAggregator(jobId, msg.sender);
        if (block.timestamp > e.deadline) revert DeadlinePassed(jobId, e.deadline);
        e.status = Status.Released;
        emit Released(jobId, e.provider, e.aggregator, e.amount, e.fee);
        _push(e.provider, e.amount);
        if (e.fee > 0) _push(e.aggregator, e.fee);
    }

    /// Releases several jobs in one transaction; any job that cannot be released reverts the whole batch.
    function releaseBatch(bytes32[] calldata jobIds) external {
        for (uint256 i = 0; i < jobIds.length; i++) release(jobIds[i]);
    }

    /// Returns everything to the client: by the aggregator at any time (failed verification), by the client once
    /// the deadline has passed. Only once, and never after a release.
    function refund(bytes32 jobId) external {
        Escrow storage e = _open(jobId);
        if (msg.sender == e.aggregator) {
            // failed verification: allowed at any time
        } else if (msg.sender == e.client) {
            if (block.timestamp <= e.deadline) revert DeadlineNotReached(jobId, e.deadline);
        } else {
            revert NotClientOrAggregator(jobId, msg.sender);
        }
        e.status = Status.Refunded;
        uint128 total = e.amount + e.fee;
        emit Refunded(jobId, e.client, total);
        _push(e.client, total);
    }

    function escrowOf(bytes32 jobId) external view returns (Escrow memory) {
        return escrows[jobId];
    }

    function _open(bytes32 jobId) private view returns (Escrow storage e) {
        e = escrows[jobId];
        if (e.status == Status.None) revert UnknownJob(jobId);
        if (e.status != Status.Deposited) revert AlreadySettled(jobId, e.status);
    }

    function _pull(address from, uint256 value) private {
        _call(abi.encodeCall(IERC20Minimal.transferFrom, (from, address(this), value)), address(this), value);
    }

    function _push(address to, uint256 value) private {
        _call(abi.encodeCall(IERC20Minimal.transfer, (to, value)), to, value);
    }

    /// A token call that must succeed: a revert is passed on with its reason, a `false` answer is refused.
    function _call(bytes memory data, address to, uint256 value) private {
        (bool ok, bytes memory answer) = address(token).call(data);
        if (!ok) {
            assembly {
                revert(add(answer, 32), mload(answer))
            }
        }
        if (answer.length > 0 && !abi.decode(answer, (bool))) revert TokenTransferFailed(to, value);
        if (answer.length == 0 && address(token).code.length == 0) revert TokenTransferFailed(to, value);
    }
}
