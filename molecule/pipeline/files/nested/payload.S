/*
 * Nested-guest payload for the dmemfs pipeline test.
 *
 * A Multiboot (v1) kernel, started by QEMU with
 *   -kernel payload.elf -append TOKEN
 *   -device isa-debug-exit,iobase=0xf4,iosize=0x04
 * It writes a record at guest-physical 0x00400000 that only code which
 * has seen the token can produce, then makes QEMU exit.
 *
 * Record (all offsets from 0x00400000, little endian):
 *   0x0000  "DMEMFS-NESTED"       13 bytes of ASCII, no NUL
 *   0x000d  token, reversed       1..64 bytes
 *   0x000d+len  NUL
 *   0x1000  524288 32-bit words (2 MiB) of xorshift32:
 *           seed = FNV-1a-32 of the token (0x2545f491 if that is 0),
 *           word[i] = x = xorshift32(x), starting from x = seed,
 *           xorshift32(x): x ^= x << 13; x ^= x >> 17; x ^= x << 5.
 * The rest of the first page is left as it was (zero on a new file).
 *
 * QEMU exit status, (value << 1) | 1 for the byte written to port 0xf4:
 *   99 (0x31)  record written
 *   97 (0x30)  not started by a Multiboot loader, or no command line
 *  101 (0x32)  token missing, longer than 64 or not [A-Za-z0-9-]
 *
 * Runs with interrupts off and paging off; uses no stack and no memory
 * but the record, so nothing the loader put below 0x00400000 can be hit.
 */

	.set	MB_MAGIC,	0x1badb002
	.set	MB_FLAGS,	0			/* ELF: no address fields */
	.set	MB_BOOT_EAX,	0x2badb002
	.set	MB_INFO_CMDLINE, 1 << 2
	.set	MB_CMDLINE_OFF,	16

	.set	RECORD,		0x00400000
	.set	PATTERN,	RECORD + 0x1000
	.set	PATTERN_WORDS,	(2 << 20) / 4
	.set	TOKEN_MAX,	64

	.set	EXIT_PORT,	0xf4
	.set	EXIT_BAD_BOOT,	0x30
	.set	EXIT_OK,	0x31
	.set	EXIT_BAD_TOKEN,	0x32

	.set	FNV_BASIS,	0x811c9dc5
	.set	FNV_PRIME,	0x01000193
	.set	SEED_IF_ZERO,	0x2545f491		/* xorshift32 sticks at 0 */

	.section .multiboot, "a"
	.balign	4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	_start
_start:
	cli
	cld
	cmpl	$MB_BOOT_EAX, %eax
	jne	bad_boot
	testl	$MB_INFO_CMDLINE, (%ebx)
	jz	bad_boot
	movl	MB_CMDLINE_OFF(%ebx), %esi

	/*
	 * QEMU passes "<kernel file name> <-append string>", so the token is
	 * the last word: find the end, drop trailing blanks, walk back to
	 * the blank before it.
	 */
	movl	%esi, %edi
1:	cmpb	$0, (%edi)
	je	2f
	incl	%edi
	jmp	1b
2:	cmpl	%esi, %edi
	je	bad_token
	cmpb	$' ', -1(%edi)
	jne	3f
	decl	%edi
	jmp	2b
3:	movl	%edi, %edx
4:	cmpl	%esi, %edx
	je	5f
	cmpb	$' ', -1(%edx)
	je	5f
	decl	%edx
	jmp	4b

	/* Token is [%edx, %edi). */
5:	movl	%edi, %ecx
	subl	%edx, %ecx
	cmpl	$TOKEN_MAX, %ecx
	ja	bad_token

	/* Check every byte and hash it in the same pass. */
	movl	$FNV_BASIS, %eax
	movl	%edx, %esi
6:	movzbl	(%esi), %ebx
	cmpl	$'-', %ebx
	je	7f
	leal	-'0'(%ebx), %ebp
	cmpl	$9, %ebp
	jbe	7f
	movl	%ebx, %ebp
	orl	$0x20, %ebp			/* fold case for the letter test */
	subl	$'a', %ebp
	cmpl	$25, %ebp
	ja	bad_token
7:	xorl	%ebx, %eax
	imull	$FNV_PRIME, %eax, %eax
	incl	%esi
	cmpl	%edi, %esi
	jb	6b

	testl	%eax, %eax
	jnz	8f
	movl	$SEED_IF_ZERO, %eax

	/*
	 * Pattern before header: a record with its magic in place is then
	 * always complete, whatever stopped the guest.
	 */
8:	movl	$PATTERN, %ebx
	movl	$PATTERN_WORDS, %ecx
9:	movl	%eax, %ebp
	shll	$13, %ebp
	xorl	%ebp, %eax
	movl	%eax, %ebp
	shrl	$17, %ebp
	xorl	%ebp, %eax
	movl	%eax, %ebp
	shll	$5, %ebp
	xorl	%ebp, %eax
	movl	%eax, (%ebx)
	addl	$4, %ebx
	decl	%ecx
	jnz	9b

	/* Token reversed right after the magic, then a NUL. */
	movl	$RECORD + magic_len, %ebx
10:	decl	%edi
	movb	(%edi), %al
	movb	%al, (%ebx)
	incl	%ebx
	cmpl	%edx, %edi
	ja	10b
	movb	$0, (%ebx)

	movl	$magic, %esi
	movl	$RECORD, %edi
	movl	$magic_len, %ecx
	rep movsb

	movb	$EXIT_OK, %al
	jmp	exit

bad_boot:
	movb	$EXIT_BAD_BOOT, %al
	jmp	exit
bad_token:
	movb	$EXIT_BAD_TOKEN, %al
exit:
	outb	%al, $EXIT_PORT
	/* Only reached without isa-debug-exit: the runner's timeout ends it. */
11:	hlt
	jmp	11b

	.section .rodata
magic:
	.ascii	"DMEMFS-NESTED"
	.set	magic_len, . - magic

	.section .note.GNU-stack, "", @progbits
